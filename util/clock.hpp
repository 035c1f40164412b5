// Timestamps in AWS's formats and random identifiers. Any thread.
#pragma once

#include <chrono>
#include <string>

namespace lambdad::util {

// "2020-04-10T19:06:32.563+0000", as Lambda's LastModified and CreatedDate.
std::string aws_timestamp(std::chrono::system_clock::time_point t);
std::string aws_timestamp_now();
// RFC 4122 version-4 UUID, lower case.
std::string uuid4();

}  // namespace lambdad::util
