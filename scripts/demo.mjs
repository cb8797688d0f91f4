// The demo behind `npm run demo`: starts a throwaway docker-registry on 127.0.0.1 with temporary storage,
// pushes sample images (nested repositories, shared tags, multi-arch indexes, a cosign signature, an undated
// image), runs cleanreg in dry-run and then for real, shows before and after, runs the garbage collection,
// and stops the registry. Nothing outside the temporary folder is touched.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../dist/registry/client.js';
import { Logger } from '../dist/util/log.js';

const dir = mkdtempSync(join(tmpdir(), 'cleanreg-demo-'));
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const url = `http://127.0.0.1:${port}`;
const config = join(dir, 'config.yml');
writeFileSync(
  config,
  `version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }
http: { addr: 127.0.0.1:${port}, secret: demo-secret }
`,
);

let registry;
const startRegistry = async () => {
  registry = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/v2/`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the demo registry did not start');
};
const stopRegistry = () => new Promise((resolve) => (registry.exitCode !== null ? resolve() : (registry.once('exit', resolve), registry.kill())));
process.on('exit', () => registry?.kill());

const heading = (text) => console.log(`\n\x1b[1m=== ${text}\x1b[0m`);
const cli = (args) => {
  console.log(`\x1b[36m$ cleanreg ${args.join(' ')}\x1b[0m`);
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { stdio: 'inherit', env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') } });
  return r.status;
};

const client = new RegistryClient(
  { registry: url, credentials: {}, timeoutMs: 10000, retries: 2, concurrency: 4, logger: new Logger(process.stderr, 0) },
  new Logger(process.stderr, 0),
);
const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const json = (o) => Buffer.from(JSON.stringify(o));
const layer = Buffer.from('demo layer: the same bytes in every image\n');

async function image(repo, tags, created, arch = 'amd64', tag = true) {
  const config = json({ ...(created ? { created } : {}), architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] }, config: { Labels: { repo, tags: tags.join(',') } } });
  await client.putBlob(repo, sha(layer), layer);
  await client.putBlob(repo, sha(config), config);
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha(layer) }],
  });
  for (const t of tag ? tags : [sha(manifest)]) await client.putManifest(repo, t, manifest, 'application/vnd.docker.distribution.manifest.v2+json');
  return { digest: sha(manifest), size: manifest.length };
}

async function multiArch(repo, tag, created) {
  const children = [];
  for (const arch of ['amd64', 'arm64']) children.push({ ...(await image(repo, [`${tag}-${arch}`], created, arch, false)), arch });
  const index = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: children.map((c) => ({ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: c.digest, size: c.size, platform: { architecture: c.arch, os: 'linux' } })),
  });
  await client.putManifest(repo, tag, index, 'application/vnd.oci.image.index.v1+json');
  return sha(index);
}

async function signature(repo, subject) {
  const payload = json({ critical: { image: { 'docker-manifest-digest': subject } } });
  await client.putBlob(repo, sha(payload), payload);
  const empty = Buffer.from('{}');
  await client.putBlob(repo, sha(empty), empty);
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: sha(empty) },
    layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: payload.length, digest: sha(payload) }],
  });
  await client.putManifest(repo, `${subject.replace(':', '-')}.sig`, manifest, 'application/vnd.oci.image.manifest.v1+json');
}

const day = (n) => new Date(Date.now() - n * 86400_000).toISOString();

try {
  await startRegistry();
  heading(`A throwaway registry at ${url}; pushing sample images`);
  for (let i = 0; i < 6; i++) await image('demo/nginx', i === 5 ? ['1.5', 'latest'] : i === 1 ? ['1.1', 'stable'] : [`1.${i}`], day(60 - i * 10));
  const old = await multiArch('demo/api', '2.0', day(40));
  await multiArch('demo/api', '2.1', day(20));
  const current = await multiArch('demo/api', '2.2', day(1));
  await signature('demo/api', old);
  await signature('demo/api', current);
  for (let i = 0; i < 4; i++) await image('tools/builder', [`build-${100 + i}`], day(30 - i * 7));
  await image('tools/builder', ['handmade'], null);

  const conf = join(dir, 'repos.conf');
  writeFileSync(
    conf,
    `# repository (or glob)   images to keep   options
demo/nginx   3   exclude=stable        # "stable" is never deleted
demo/api     1                         # multi-arch; signatures follow their image
tools/*      2   older-than=14d        # only builds older than two weeks go
`,
  );
  console.log(`repos.conf:\n${'-'.repeat(60)}\n${(await import('node:fs')).readFileSync(conf, 'utf8')}${'-'.repeat(60)}`);

  heading('Before');
  cli(['list', '-r', url]);
  heading('1. Dry run: the plan, nothing deleted');
  cli(['-r', url, '-f', conf, '--dry-run']);
  heading('2. For real (--yes because this demo has no one to ask)');
  cli(['-r', url, '-f', conf, '--yes']);
  heading('After');
  cli(['list', '-r', url]);

  heading('Garbage collection (registry stopped), then every kept image is still served');
  await stopRegistry();
  const gc = spawnSync('docker-registry', ['garbage-collect', config], { encoding: 'utf8' });
  console.log(`docker-registry garbage-collect: ${(gc.stdout.match(/eligible for deletion/g) ?? []).length} blobs and manifests removed`);
  await startRegistry();
  cli(['-r', url, '-f', conf, '--dry-run']);
} finally {
  if (registry) await stopRegistry();
  rmSync(dir, { recursive: true, force: true });
  console.log('\nThe demo registry is stopped and its storage removed.');
}
