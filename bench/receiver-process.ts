/**
 * A live OTLP receiver in its own process, so that decoding spans does not count against the
 * process being measured. Prints its URL, then the number of spans received when stdin closes.
 * It counts spans and lets them go, so that a long run does not fill its heap.
 */
import { OtlpReceiver } from '../tools/otlp-receiver.js';

const receiver = await OtlpReceiver.start();
let received = 0;
const forget = () => {
  received += receiver.spans.length;
  receiver.spans.length = 0;
};
setInterval(forget, 1000).unref();
process.stdout.write(`${receiver.url}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  forget();
  process.stdout.write(`${received}\n`);
  await receiver.close();
});
