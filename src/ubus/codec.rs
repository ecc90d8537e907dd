//! blob / blobmsg TLV encoding and decoding (libubox blob.h, blobmsg.h).
