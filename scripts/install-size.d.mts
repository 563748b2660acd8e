export interface InstallFigures {
  name: string;
  version?: string;
  packages: number;
  bytes: number;
}
export declare function folderBytes(dir: string): number;
export declare function dependencyClosure(manifest: object, fromDir: string, root: string): Map<string, { name: string; version: string }>;
export declare function packedSize(root: string): { unpackedSize: number; tarballSize: number; files: string[] };
export declare function measureOffline(root: string): { own: InstallFigures; peer: InstallFigures };
export declare function measureByInstall(root: string, peerVersion: string): { own: InstallFigures; peer: InstallFigures };
