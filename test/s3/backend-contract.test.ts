import { describeBackendContract } from '../support/backend-contract.js';
import { useS3 } from '../support/s3-service.js';

const s3 = useS3();

describeBackendContract('S3', () => s3.backend());
