/** Command line of the bench: flags win over environment variables, which win over the defaults. */

export interface BenchArgs {
  shapes: { repos: number; tags: number }[];
  workers: number;
  keep: number;
  seedWorkers: number;
  wrkSeconds: number;
  keepWork: boolean;
  seedApi: boolean;
  repeat: number;
  apply: boolean;
  storage?: string;
  results: string;
  cleanregArgs: string[];
}

export const SHAPES: Record<string, { repos: number; tags: number }[]> = {
  default: [{ repos: 50, tags: 200 }],
  'few-large': [{ repos: 2, tags: 2000 }],
  'many-small': [{ repos: 500, tags: 8 }],
  other: [{ repos: 2, tags: 2000 }, { repos: 500, tags: 8 }],
  all: [{ repos: 50, tags: 200 }, { repos: 2, tags: 2000 }, { repos: 500, tags: 8 }],
};

export const MAX_TAGS = 100_000;

export const USAGE = `npm run bench -- [options]

Seeds a real docker-registry on 127.0.0.1 and measures cleanreg: cold dry-run plan, warm (cached) dry-run plan,
apply; each against the registry's capacity for the same request mix (wrk).

  --repos N            repositories (env BENCH_REPOS, default 50)
  --tags N             tags per repository (env BENCH_TAGS, default 200); repos x tags <= ${MAX_TAGS}
  -w, --workers N      cleanreg -w and wrk -c (env BENCH_WORKERS, default 32 = cleanreg's default)
  --shape NAME         preset instead of --repos/--tags: ${Object.keys(SHAPES).join(', ')}
                       (few-large = 2 x 2000, many-small = 500 x 8, other = both, all = default + both)
  --keep N             images kept per repository (default 5)
  --seed-workers N     requests in flight while seeding (default 16)
  --wrk-seconds N      length of each wrk replay (env BENCH_WRK_SECONDS, default 5)
  --results FILE       where the tables go (default bench/RESULTS.md; a shape's section is replaced, others kept)
  --repeat N           run the cold and warm plans N times, each try between two replays of its mix; the
                       table keeps the fastest, and the time target is judged on the median of each try ÷
                       the replays around it (env BENCH_REPEAT, default 1; for a machine shared with other jobs)
  --storage DIR        parent folder of the registry storage (env BENCH_STORAGE; default /dev/shm when it has
                       room: about 72 KB per tag, 7 GB at 100,000 tags; else bench/work)
  --no-apply           only the plans (no apply, no copy of the storage for its replay)
  --seed-api           upload blobs over the API (POST + PUT each) instead of writing them into the storage
  --keep-work          keep bench/work/<run> (registry storage, request lists, cache) afterwards
  -- ARGS...           extra arguments for every cleanreg run
`;

function int(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number >= ${min}, not "${value}"`);
  return n;
}

/** A whole number (at least 1) from the environment, else the default. */
function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  return env[name] !== undefined ? int(name, env[name], 1) : fallback;
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): BenchArgs | 'help' {
  let repos = envInt(env, 'BENCH_REPOS', 50);
  let tags = envInt(env, 'BENCH_TAGS', 200);
  let shape: string | undefined = env.BENCH_SHAPE;
  const out: BenchArgs = {
    shapes: [],
    workers: envInt(env, 'BENCH_WORKERS', 32),
    keep: 5,
    seedWorkers: 16,
    wrkSeconds: envInt(env, 'BENCH_WRK_SECONDS', 5),
    keepWork: false,
    seedApi: false,
    apply: true,
    storage: env.BENCH_STORAGE || undefined,
    repeat: envInt(env, 'BENCH_REPEAT', 1),
    results: 'bench/RESULTS.md',
    cleanregArgs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--repos':
        repos = int('--repos', value(), 1);
        break;
      case '--tags':
        tags = int('--tags', value(), 1);
        break;
      case '-w':
      case '--workers':
        out.workers = int('-w', value(), 1);
        break;
      case '--shape':
        shape = value();
        break;
      case '--keep':
        out.keep = int('--keep', value(), 0);
        break;
      case '--seed-workers':
        out.seedWorkers = int('--seed-workers', value(), 1);
        break;
      case '--wrk-seconds':
        out.wrkSeconds = int('--wrk-seconds', value(), 1);
        break;
      case '--results':
        out.results = value();
        break;
      case '--repeat':
        out.repeat = int('--repeat', value(), 1);
        break;
      case '--storage':
        out.storage = value();
        break;
      case '--no-apply':
        out.apply = false;
        break;
      case '--seed-api':
        out.seedApi = true;
        break;
      case '--keep-work':
        out.keepWork = true;
        break;
      case '--':
        out.cleanregArgs = argv.slice(i + 1);
        i = argv.length;
        break;
      default:
        throw new Error(`unknown option ${argv[i]}\n\n${USAGE}`);
    }
  }
  if (shape !== undefined) {
    if (!SHAPES[shape]) throw new Error(`--shape: one of ${Object.keys(SHAPES).join(', ')}, not "${shape}"`);
    out.shapes = SHAPES[shape];
  } else out.shapes = [{ repos, tags }];
  for (const s of out.shapes) {
    if (s.repos * s.tags > MAX_TAGS) throw new Error(`${s.repos} x ${s.tags} = ${s.repos * s.tags} tags: at most ${MAX_TAGS}`);
  }
  return out;
}
