/**
 * Devices module: decides whether a destination (USB drive, NAS share, local directory) may be
 * written right now, and runs the USB plug-in flow (find by label/UUID, mount, release).
 *
 * Algorithm: a destination is checked in order absent -> not-mounted -> wrong-drive -> read-only
 * -> ready (checkDestination), then against its enrolment (checkEnrolledDestination): the drive
 * must have the UUID enrolled on the server (the state store remembers it; the marker alone
 * cannot, it travels with the drive), and the marker and the enrolled repository must be there. Drive identity is the filesystem label and/or UUID as blkid
 * reads it; mount facts come from /proc/self/mountinfo (octal escapes decoded, paths realpath'd,
 * the mount tree walked so stacked and over-mounts resolve as the kernel resolves them), never
 * from device-number comparison, which misses bind mounts. Before writing, the repository
 * directory's marker (.lifeboat-drive.json, written once by enroll) must name this destination,
 * this drive and this repository (verifyMarker), and free space must cover the estimate
 * (checkSpace).
 *
 * Invariants:
 * - Only `ready` may be written; checkDestination creates, mounts and writes nothing.
 * - Nothing is created under a mountpoint that is not mounted: the only directory this module
 *   makes is a missing mountpoint itself (mountDrive), on the root filesystem, before mounting.
 * - No repository, mirror or marker is created implicitly; writeMarker makes no directories and
 *   never replaces a marker unless asked.
 * - A drive is reported safe to unplug only when the mount table shows it mounted nowhere.
 * - All machine access goes through DeviceProbe; systemProbe() spawns tools with argument arrays.
 */
export {
  checkDestination,
  driveName,
  impostorWhy,
  type Destination,
  type DestinationState,
  type EnrolledIdentity,
} from './destination-state.ts';
export { checkEnrolledDestination, isAway, type EnrolledState } from './enrolled-destination.ts';
export {
  MARKER_FILE,
  MARKER_FORMAT,
  markerPath,
  newMarker,
  readMarker,
  verifyMarker,
  writeMarker,
  type DriveMarker,
  type MarkerExpectation,
  type MarkerState,
} from './marker.ts';
export {
  decodeMountinfoPath,
  findMount,
  isMountPoint,
  isReadWrite,
  parseMountinfo,
  type MountEntry,
} from './mountinfo.ts';
export {
  parseBlkidExport,
  parseLsblkJson,
  systemProbe,
  type BlkidEntry,
  type DeviceProbe,
  type LsblkEntry,
  type MountOptions,
  type SystemProbeOptions,
} from './probe.ts';
export { checkSpace, formatBytes, freeBytes, type SpaceCheck, type SpaceOptions } from './space.ts';
export {
  findAttachedDrives,
  listAttachedDrives,
  mountDrive,
  releaseDrive,
  type AttachedDrive,
  type DriveMatch,
  type MountOutcome,
  type ReleaseOutcome,
} from './usb.ts';
