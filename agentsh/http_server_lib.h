// cpp-httplib, included the way Debian built libcpp-httplib.so.
//
// The shared library is compiled with OpenSSL, zlib and Brotli support (see the
// Cflags in cpp-httplib.pc); those switches change the layout of httplib's classes.
// Every translation unit that includes httplib.h must define them identically or the
// program and the library disagree about object sizes (an ODR violation that shows up
// as memory corruption). So nobody includes <httplib.h> directly: include this.
#pragma once

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif

#include <httplib.h>
