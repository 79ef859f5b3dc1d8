/* SPDX-License-Identifier: MPL-2.0 */
/*  zmq_utils.h of zmqrs. As in libzmq 4.3.5 this header is deprecated and
    declares nothing: everything it used to declare is in zmq.h. Including
    it only prints a warning, through a pragma so that -Wpedantic builds do
    not fail; compilers without that pragma see an empty file.               */

#if defined(__clang__) || defined(__GNUC__) || defined(__GNUG__)               \
  || defined(_MSC_VER)
#if defined(__GNUC__) || defined(__GNUG__)
#pragma GCC diagnostic push
#pragma GCC diagnostic warning "-Wcpp"
#pragma GCC diagnostic ignored "-Werror"
#pragma GCC diagnostic ignored "-Wall"
#endif
#pragma message(                                                               \
  "Warning: zmq_utils.h is deprecated. All its functionality is provided by zmq.h.")
#if defined(__GNUC__) || defined(__GNUG__)
#pragma GCC diagnostic pop
#endif
#endif
