import { describeChange, KNOB_ORDER, knobsKey, step, type KnobName, type Knobs, type SearchSpace } from './candidates';
import { beats, score, type Measured, type Score, type ScoreOptions } from './score';

/**
 * The search: a hill climb from the built config, one knob at a time, as Model Analyzer's quick
 * search climbs (not its brute-force grid). A pass tries each knob in KNOB_ORDER: one step up its
 * ladder, and on while each step pays; down where the first step up did not. A step pays when it
 * beats the best so far by more than the margin (score.ts). A knob that has moved one way is not
 * tried the other way back (that undoes what paid). Passes repeat until one moves nothing, or
 * `maxCandidates` configs (the built one included) have been measured.
 */

export interface Candidate {
  /** 1, 2, …: the order they were measured in; 1 is the built config. */
  id: number;
  knobs: Knobs;
  /** The candidate this one is a step from. */
  from?: number;
  /** What the step changed, in words ("the built config" for the first). */
  change: string;
  measured: Measured;
  score: Score;
}

export interface SearchOptions extends ScoreOptions {
  maxCandidates: number;
  /** How much better a step must be to be taken (default 0.05: 5 %). */
  margin?: number;
  /** Called after each measurement, with whether the climb moved to it. */
  onCandidate?: (candidate: Candidate, taken: boolean) => void;
}

export interface SearchResult {
  candidates: Candidate[];
  /** Where the climb ended: the best config found. */
  best: Candidate;
  stoppedBy: 'converged' | 'maxCandidates';
}

export const DEFAULT_MARGIN = 0.05;

export async function hillClimb(space: SearchSpace, measure: (knobs: Knobs) => Promise<Measured>, options: SearchOptions): Promise<SearchResult> {
  const margin = options.margin ?? DEFAULT_MARGIN;
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  const evaluate = async (knobs: Knobs, from?: Candidate): Promise<Candidate> => {
    seen.add(knobsKey(knobs));
    const measured = await measure(knobs);
    const candidate: Candidate = {
      id: candidates.length + 1,
      knobs,
      from: from?.id,
      change: from ? describeChange(from.knobs, knobs) : 'the built config',
      measured,
      score: score(measured, options),
    };
    candidates.push(candidate);
    return candidate;
  };

  let best = await evaluate(space.baseline);
  options.onCandidate?.(best, true);
  let stoppedBy: SearchResult['stoppedBy'] = 'converged';
  const movedWay = new Map<KnobName, 'up' | 'down'>();
  climb: for (;;) {
    let moved = false;
    for (const knob of KNOB_ORDER) {
      for (const direction of ['up', 'down'] as const) {
        if (movedWay.has(knob) && movedWay.get(knob) !== direction) continue;
        let movedThisWay = false;
        for (;;) {
          const next = step(knob, direction, best.knobs, space);
          if (!next || seen.has(knobsKey(next))) break;
          if (candidates.length >= options.maxCandidates) {
            stoppedBy = 'maxCandidates';
            break climb;
          }
          const candidate = await evaluate(next, best);
          const taken = beats(candidate.score, best.score, options.objective, margin);
          options.onCandidate?.(candidate, taken);
          if (!taken) break;
          best = candidate;
          moved = movedThisWay = true;
          movedWay.set(knob, direction);
        }
        if (movedThisWay) break;
      }
    }
    if (!moved) break;
  }
  return { candidates, best, stoppedBy };
}
