import type { Duration } from 'date-fns';

export type ImageKind = 'image' | 'index' | 'artifact';

/** A blob a manifest uses; no size where the manifest does not list it (Docker schema 1). */
export interface BlobRef {
  digest: string;
  size?: number;
}

/** One manifest (a digest) of a repository with every tag that points at it. Images, not tags, are the unit. */
export interface Image {
  digest: string;
  tags: string[];
  mediaType: string;
  kind: ImageKind;
  /** ISO 8601 from the config blob (an index: its newest child's); null when unknown or not fetched. */
  created: string | null;
  /** Artifacts (cosign signatures, OCI referrers): the digest of the image they belong to. */
  subject?: string;
  /** Index: the digests of its child manifests. */
  children?: string[];
  /** Bytes of manifest + config + layers (an index: its children's, shared blobs once), when known. */
  size?: number;
  /** Blob digests this manifest needs (config and layers; an index: its children's), for size estimates. */
  blobs?: BlobRef[];
}

export interface RepoInventory {
  name: string;
  /** null when the registry lists the repository with `"tags": null` (nothing left in it). */
  tags: string[] | null;
  images: Image[];
}

export type Order = 'created' | 'semver' | 'name';

export interface Policy {
  /** Keep the newest N images (not tags). */
  keep: number;
  /** -i: leave any digest that carries more than one tag. */
  ignoreRefTags: boolean;
  /** Only images whose tags all match may be deleted (whole-tag match). */
  include?: RegExp;
  /** A matching tag protects its image (whole-tag match). */
  exclude?: RegExp;
  /** Only images created before / after these instants may be deleted. */
  before?: Date;
  after?: Date;
  /** Only images older / newer than these ages (relative to `now`) may be deleted. */
  olderThan?: Duration;
  newerThan?: Duration;
  order: Order;
}

export type Action = 'keep' | 'delete';

export interface PlannedImage {
  digest: string;
  tags: string[];
  created: string | null;
  kind: ImageKind;
  mediaType: string;
  action: Action;
  reason: string;
  subject?: string;
  /** Index: its child manifests (a kept index protects them, also at apply time). */
  children?: string[];
  /**
   * Artifacts, referrers and untagged platform manifests: the planned manifest whose fate they share (an image, an
   * index, or another follower); deleted only after it.
   */
  follows?: string;
  /** `cleanreg delete`: asked for by name, so it goes even where what it refers to stays. */
  named?: boolean;
  size?: number;
}

export interface RepoPlan {
  name: string;
  keep: PlannedImage[];
  delete: PlannedImage[];
  /** Repository listed with no tags at all. */
  empty: boolean;
  /** Things worth telling the user (orphaned artifacts, ...). */
  notes: string[];
  /** Estimated bytes freed by garbage collection after the deletions (blobs no kept image uses). */
  freedBytes?: number;
  /** What "newest" meant for the policy (a plan from `cleanreg delete` has none): how the plan is shown. */
  order?: Order;
}

/** Does this policy need each image's creation date (and so a config fetch per image)? */
export function needsCreated(policy: Policy): boolean {
  return policy.order === 'created' || hasDateWindow(policy);
}

export function hasDateWindow(policy: Policy): boolean {
  return !!(policy.before || policy.after || policy.olderThan || policy.newerThan);
}
