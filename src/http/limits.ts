/** Bodies up to and including this many bytes are accepted (spec: 64 KiB). */
export const MAX_BODY_BYTES = 65_536;
/** Authorization headers over this are malformed_token before any parsing. */
export const MAX_AUTHORIZATION_BYTES = 8_192;
