import { describeBackendContract } from '../support/backend-contract.js';
import { useS3 } from '../support/s3-service.js';

const s3 = useS3();

// Generous: a loaded machine runs several gateways at once.
describeBackendContract('S3', () => s3.backend(), { timeout: 120_000 });
