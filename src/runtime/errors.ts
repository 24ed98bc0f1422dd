// The library's refusal error, shared by the engine facade and the offline command path.

import { formatProblem, type Problem } from '../core/commands.js';

/** A refusal: `code` says what kind, `problems` name the places. */
export class OrderlyError extends Error {
  override name = 'OrderlyError';
  readonly code: Problem['code'];
  readonly problems: Problem['problems'];
  constructor(readonly problem: Problem) {
    super(formatProblem(problem));
    this.code = problem.code;
    this.problems = problem.problems;
  }
}
