export declare const CEPH_BINARIES: string[];
export declare const INSTALL_HINT: string;
export declare function findCephBinaries(): Record<string, string> | null;
export interface RunningRgw {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
  startMillis: number;
  pids: number[];
  stop(): Promise<void>;
}
export declare function startRgw(options?: { timeoutMs?: number; memstoreBytes?: number }): Promise<RunningRgw>;
