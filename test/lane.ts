/**
 * The test lanes (vitest projects in vitest.config.mts): `unit` (*.spec.ts) runs with `npm ci` alone —
 * no Python, no tritonserver, no protoc, no Nx workspace, no built dist/; `integration` (*.int.spec.ts)
 * and `e2e` (e2e/*.e2e.ts) run the real peers. Each helper that starts a peer calls this first, so a
 * unit test that reaches for one fails at once with where it belongs.
 */
export function requirePeer(what: string): void {
  if (process.env.NX_TRITON_TEST_LANE === 'unit') {
    throw new Error(`${what} in the unit lane: unit tests run without Python, tritonserver, protoc, dist/ or an Nx workspace; move this test into a *.int.spec.ts file`);
  }
}
