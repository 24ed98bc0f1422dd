// An execution request as the engine hands it to an executor, for the executors' unit tests.
import type { Executable, Job } from '../../src/core/model.js';
import type { ExecutionRequest } from '../../src/runtime/executor-types.js';

/** Execution x1 of job j of order o1 in workflow wf: `executable` unless `job` gives one, no arguments, no locks; `over` replaces fields. */
export function executionRequest(executable: Executable, job: Partial<Job> = {}, over: Partial<ExecutionRequest> = {}): ExecutionRequest {
  const { executable: given, ...rest } = job;
  return {
    executionId: 'x1',
    orderId: 'o1',
    workflow: 'wf',
    jobName: 'j',
    job: { executable: given ?? executable, ...rest },
    arguments: {},
    locks: [],
    ...over,
  };
}
