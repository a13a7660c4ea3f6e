// The translation unit of the IO precompiled header (lib/CMakeLists.txt,
// ts_pch_io): the header is built once and reused by every IO module and the
// daemon.
