// Scale-out on S3: two servers over one bucket and prefix, as behind a load balancer. A record
// written through one is read through the other, and two get-or-creates of one name at once
// (one on each server) give one store.
//
// Needs the AWS SDK (npm install @aws-sdk/client-s3 @aws-sdk/s3-request-presigner), an existing
// bucket and the usual AWS_* variables, e.g. for Ceph RGW or MinIO:
//   AWS_ENDPOINT_URL=http://127.0.0.1:7480 AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
//     node examples/s3-two-instances.mjs my-bucket
import { randomBytes } from 'node:crypto';

import { ApifyClient } from 'apify-kv-client';
import { startServer } from 'apify-kv-client/server';

const bucket = process.argv[2] ?? process.env.S3_BUCKET;
if (!bucket) {
  console.error('usage: node examples/s3-two-instances.mjs BUCKET');
  process.exit(2);
}
// A fresh prefix per run keeps runs apart; a real deployment uses one fixed prefix.
const storage = `s3://${bucket}/example-${randomBytes(4).toString('hex')}`;

const one = await startServer({ port: 0, storage });
const two = await startServer({ port: 0, storage });
try {
  const viaOne = new ApifyClient({ baseUrl: one.url }).keyValueStores;
  const viaTwo = new ApifyClient({ baseUrl: two.url }).keyValueStores;

  const [a, b] = await Promise.all([
    viaOne.getOrCreateStore({ storeName: 'shared' }),
    viaTwo.getOrCreateStore({ storeName: 'shared' }),
  ]);
  console.log(`get-or-create on both servers at once: ${a.id === b.id ? 'one store' : 'TWO STORES'} (${a.id})`);

  await viaOne.putRecord({ storeId: a.id, key: 'result', body: { from: 'server one' } });
  const record = await viaTwo.getRecord({ storeId: a.id, key: 'result' });
  console.log('written through one, read through two:', JSON.stringify(record?.body));

  const keys = await viaTwo.listKeys({ storeId: a.id });
  console.log('keys listed by two:', keys.items.map((item) => item.key).join(', '));
  if (a.id !== b.id || record?.body?.from !== 'server one') process.exitCode = 1;
} finally {
  await Promise.all([one.close(), two.close()]);
}
