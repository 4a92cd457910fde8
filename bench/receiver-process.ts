/**
 * A live OTLP receiver in its own process, so that decoding spans does not count against the
 * process being measured. Prints its URL, then the number of spans received when stdin closes.
 */
import { OtlpReceiver } from '../test/helpers/otlp-receiver.js';

const receiver = await OtlpReceiver.start();
process.stdout.write(`${receiver.url}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  process.stdout.write(`${receiver.spans.length}\n`);
  await receiver.close();
});
