// The CLI's command index names each command by the words its module declares, once.
import { describe, expect, it } from 'vitest';
import { COMMAND_INDEX } from '../../../src/cli/commands/index.js';

describe('command index', () => {
  it('lists every command under the words its module declares, each once', async () => {
    const seen = new Set<string>();
    for (const entry of COMMAND_INDEX) {
      const command = await entry.load();
      const words = entry.path.join(' ');
      expect(command.path, words).toEqual(entry.path);
      expect(seen.has(words), words).toBe(false);
      seen.add(words);
    }
    expect(seen.size).toBeGreaterThan(50);
  });
});
