// Bench helper: a bare Koa server answering every POST with a fixed body of the given size, the
// baseline for the TSA's HTTP throughput. Prints "listening PORT".
import Koa from 'koa';
import { createServer } from 'node:http';

const size = Number(process.argv[2] ?? '1000');
const body = Buffer.alloc(size, 0x30);
const app = new Koa();
app.use((ctx) => {
  ctx.status = 200;
  ctx.type = 'application/timestamp-reply';
  ctx.body = body;
});
const handler = app.callback();
const server = createServer((req, res) => {
  void handler(req, res);
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`listening ${typeof a === 'object' && a !== null ? a.port : 0}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
