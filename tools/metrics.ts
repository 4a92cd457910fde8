/** Sums every sample of metric `name` (all label sets) in Prometheus text. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The sum of every sample of metric `name` the server at `url` reports now. */
export async function scrapeMetric(url: string, name: string): Promise<number> {
  return metricSum(await (await fetch(`${url}/metrics`)).text(), name);
}
