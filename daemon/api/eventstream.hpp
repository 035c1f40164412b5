// AWS's event stream framing (Content-Type application/vnd.amazon.eventstream),
// what InvokeWithResponseStream answers with: the encoder, pure functions from
// headers and payload to the bytes of one message. Sources: botocore's parser
// (botocore/eventstream.py) and the Lambda model in botocore
// (data/lambda/2015-03-31/service-2.json); ../shared/design/aws-contract-wave2.md
// section 3.
//
// A message, every integer big-endian:
//
//   offset  size  field
//   0       4     total length: the whole message, these 4 bytes and the
//                 trailing CRC included (16 + headers length + payload length)
//   4       4     headers length: the bytes of the header section alone
//   8       4     prelude CRC: CRC32 of bytes 0..7
//   12      h     headers, one after the other (below)
//   12+h    p     payload: opaque bytes
//   12+h+p  4     message CRC: CRC32 of every byte before it (prelude CRC
//                 included)
//
// CRC32 is zlib's (polynomial 0x04C11DB7 reflected, initial and final XOR
// 0xFFFFFFFF: what binascii.crc32 computes), not CRC32C.
//
// A header: u8 name length, the name's bytes, u8 value type, the value. Of the
// value types (0/1 bool true/false, 2 byte, 3 int16, 4 int32, 5 int64,
// 6 bytes, 7 string, 8 timestamp, 9 uuid) only 7 is written here: u16 length,
// then the string's bytes (UTF-8, not NUL-terminated).
//
// Lambda's events (the InvokeWithResponseStreamResponseEvent union):
//   PayloadChunk    :event-type PayloadChunk, :content-type
//                   application/octet-stream, :message-type event; the payload
//                   is the function's bytes as written.
//   InvokeComplete  :event-type InvokeComplete, :content-type application/json,
//                   :message-type event; the payload is a JSON object with
//                   ErrorCode, ErrorDetails, LogResult (all three optional in
//                   the model; an absent one is left out, so a clean end is
//                   "{}").
// An exception (a modeled error in the stream) has :message-type exception,
// :exception-type its name, :content-type application/json, and the error's
// JSON as payload.
// Header order does not matter to decoders (they build a map); these write
// :event-type, :content-type, :message-type, as other emulators of this API
// do.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::api::eventstream {

// The most payload bytes a caller should put in one PayloadChunk; a larger
// write is split into several chunks of at most this size. 1 MiB:
// - far under what the decoders accept: aws-c-event-stream (the CRT SDKs)
//   refuses a message over 16 MiB (24 MiB in later releases), botocore a
//   payload over 16 MiB (Debian's 1.29) or 24 MiB (later releases);
// - botocore's EventStreamBuffer copies its whole buffer on every read it
//   adds (bytes += data), and boto3 reads the body 64 KiB at a time, so a
//   frame of F bytes costs it about F / 128 KiB copies of each byte: 8 at
//   1 MiB, 128 at 16 MiB;
// - the frame's own overhead (16 bytes, and 90 of PayloadChunk headers) is
//   0.01% of 1 MiB.
// Callers send a chunk as soon as the runtime's bytes arrive (time to first
// byte is the runtime's): kMaxChunk caps a large write, it is no reason to
// batch small ones.
inline constexpr std::size_t kMaxChunk = 1024 * 1024;

// Hard limits encode() enforces (std::length_error past them), the smallest
// any of the decoders above applies: a whole message 16 MiB, its header
// section 128 KiB, a header name 127 bytes; a string value is at most 65535
// bytes (its u16 length).
inline constexpr std::size_t kMaxMessage = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxHeaders = 128 * 1024;
inline constexpr std::size_t kMaxHeaderName = 127;
inline constexpr std::size_t kMaxHeaderValue = 65535;

// One message with string headers (type 7) in the order given, and payload.
// A header name must not be empty.
std::string encode(std::vector<std::pair<std::string, std::string>> const& string_headers,
                   std::string_view payload);

// A PayloadChunk event carrying bytes (any bytes; callers keep to kMaxChunk).
std::string payload_chunk(std::string_view bytes);

// The InvokeComplete event that ends a stream. log_result is the base64 of
// the log's tail, as the caller has it (X-Amz-Log-Type: Tail). Bytes that
// are not UTF-8 in any of them are written as U+FFFD.
std::string invoke_complete(std::optional<std::string> error_code,
                            std::optional<std::string> error_details,
                            std::optional<std::string> log_result);

// An exception message: type is the :exception-type (an error shape's name),
// json_body its JSON, written as given.
std::string exception(std::string_view type, std::string_view json_body);

}  // namespace lambdad::api::eventstream
