import { afterEach, beforeEach } from '@jest/globals';
import { ImagePusher } from './images.js';
import { startRegistry, type RegistryOptions, type TestRegistry } from './registry.js';

/**
 * A fresh registry and a pusher for each test of the enclosing describe (or file), stopped after it; `use` hands
 * them to the suite's own variables.
 */
export function registryPerTest(use: (reg: TestRegistry, p: ImagePusher) => void, opts: RegistryOptions = {}): void {
  let reg: TestRegistry;
  let p: ImagePusher;
  beforeEach(async () => {
    reg = await startRegistry(opts);
    p = new ImagePusher({ url: reg.url });
    use(reg, p);
  });
  afterEach(async () => {
    p.close();
    await reg.stop();
  });
}
