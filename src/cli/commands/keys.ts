/** `rampart keys add`: create an API key with a role; print it once, store only its hash. */
import type { Command } from 'commander';
import { addApiKey, parseRole, ROLES } from '../../serve/auth.js';
import { UsageError } from '../../core/errors.js';
import { say } from '../output.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('Manage the API keys of `rampart serve`.');
  keys
    .command('add')
    .description('Create an API key with a role and append its hash to the keys file; the key is printed once and never stored.')
    .requiredOption('--file <path>', 'the keys file (created if missing, mode 0600)')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'predict')
    .option('--name <text>', 'who or what the key is for')
    .option('--hash <method>', 'sha256 (default) or scrypt', 'sha256')
    .action(async (flags: { file: string; role: string; name?: string; hash: string }) => {
      const role = parseRole(flags.role);
      if (flags.hash !== 'sha256' && flags.hash !== 'scrypt')
        throw new UsageError('E_FLAG_VALUE', `--hash must be 'sha256' or 'scrypt'; got '${flags.hash}'.`);
      const { key, record } = await addApiKey(flags.file, { role, hash: flags.hash, ...(flags.name ? { name: flags.name } : {}) });
      say(key);
      process.stderr.write(`rampart keys: added key ${record.id} with role '${role}' to ${flags.file}; the key above is shown only now.\n`);
    });
  for (const c of keys.commands) c.exitOverride();
  keys.exitOverride();
}
