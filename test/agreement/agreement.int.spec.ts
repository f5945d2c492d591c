import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadWithTriton } from '../triton-oracle';
import { recordValidateTests, repositoryCases, singleModelCases, type Case } from './cases';
import { EXCEPTIONS, type Row, type Verdict } from './exceptions';

// Agreement of `nx-triton validate` with the real Triton: every config and repository our validate
// tests check (recorded from a run of those tests) is loaded by tritonserver (nvidia-pytriton:
// python backend only; --model-control-mode=explicit --disable-auto-complete-config). Triton
// refuses a model when its core's rules fail (core src/model_config_utils.cc ValidateModelConfig,
// ValidateModelIOConfig, ValidateEnsembleConfig in ensemble_utils.cc); a model that fails only
// because its backend library is missing has passed them all, which counts as accepted.

async function verdicts(cases: Case[]): Promise<Row[]> {
  const rows: Row[] = [];
  const byRepo = new Map<string, Case[]>();
  for (const c of cases) byRepo.set(c.repository, [...(byRepo.get(c.repository) ?? []), c]);
  for (const [repository, group] of byRepo) {
    const { results, stop } = await loadWithTriton(repository, group.map((c) => c.model), undefined, { unloadEach: true });
    await stop();
    group.forEach((c, i) => {
      const triton = results[i];
      rows.push({ ...c, triton, weRefuse: c.ours.length > 0, tritonRefuses: triton.state === 'refused' });
    });
  }
  return rows;
}

function label(r: Verdict): string {
  if (r.weRefuse && r.tritonRefuses) return 'both refuse';
  if (!r.weRefuse && !r.tritonRefuses) return 'both accept';
  return r.weRefuse ? 'we refuse, Triton accepts' : 'Triton refuses, we accept';
}

describe('nx-triton validate against the real Triton', () => {
  it('agrees on every case of the validate tests, but for the listed rules Triton cannot reach here', async () => {
    const { recorded, dir } = recordValidateTests();
    const single = await singleModelCases(recorded);
    const cases = [...single.cases, ...(await repositoryCases(recorded))];
    const rows = await verdicts(cases);
    for (const d of new Set([dir, ...cases.map((c) => c.repository)])) rmSync(d, { recursive: true, force: true });

    const table = new Map<string, number>();
    for (const r of rows) table.set(label(r), (table.get(label(r)) ?? 0) + 1);
    const explained = new Map<string, number>();
    const unexplained: string[] = [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const r of rows.filter((row) => row.weRefuse !== row.tritonRefuses)) {
      const why = EXCEPTIONS.find((e) => e.applies(r, byId));
      if (why) explained.set(why.rule, (explained.get(why.rule) ?? 0) + 1);
      else unexplained.push(`${label(r)}: ${r.id} [${r.test}]\n    ours: ${r.ours.join(' | ') || '-'}\n    Triton: ${r.triton.state} ${r.triton.error ?? ''}`);
    }
    console.log(
      [
        `validate vs Triton: ${rows.length} cases (${single.skipped.length} recorded configs have no config.pbtxt form)`,
        ...['both refuse', 'both accept', 'we refuse, Triton accepts', 'Triton refuses, we accept'].map((k) => `  ${k}: ${table.get(k) ?? 0}`),
        ...[...explained].map(([rule, count]) => `  explained (${count}): ${rule}`),
      ].join('\n'),
    );
    expect(unexplained).toEqual([]);
    expect(rows.length).toBeGreaterThan(200);
    // Each listed exception is met by some case: none is left over from a rule that changed.
    expect(EXCEPTIONS.filter((e) => !explained.has(e.rule)).map((e) => e.rule)).toEqual([]);
  }, 1_200_000);
});
