import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../core/errors.js';
import { createObjective, objectiveIds, objectiveOptionNames } from './registry.js';

test('every objective names its valid options (and awp) for an unknown one', () => {
  for (const id of objectiveIds()) {
    const valid = [...objectiveOptionNames(id), 'awp'];
    const expected = `its options are ${
      valid.length === 1
        ? `'awp'`
        : valid
            .slice(0, -1)
            .map((v) => `'${v}'`)
            .join(', ') + " or 'awp'"
    }.`;
    const listed = (e: unknown) => e instanceof UsageError && e.code === 'E_OBJECTIVE_OPTION' && e.message.endsWith(expected);
    assert.throws(() => createObjective(id, { nonsense: 1 } as never), listed, id);
  }
});

test('options set to undefined count as absent, and bad values name what they must be', () => {
  const threat = { norm: 'linf', epsilon: 0.1 };
  assert.equal(createObjective('pgd-at', { threat, steps: undefined, beta: undefined }).config.steps, 10);
  const notBoolean = /pgd-at option 'randomStart' must be true or false; got 1\./;
  assert.throws(() => createObjective('pgd-at', { threat, randomStart: 1 as never }), notBoolean);
  const fractional = /awp option 'warmupEpochs' must be a whole number >= 0; got 1\.5\./;
  assert.throws(() => createObjective('standard', { awp: { warmupEpochs: 1.5 } }), fractional);
  const empty = /diversified option 'members' must list at least one \{ id, weight, options \}/;
  assert.throws(() => createObjective('diversified', { members: [] }), empty);
});
