/**
 * Sizes libuv's thread pool before anything uses it: file I/O, directory scans, password hashing
 * and parallel upload writes all run there, and the default of 4 threads makes them queue behind
 * each other under load. An operator's UV_THREADPOOL_SIZE wins. Imported first by main.ts.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
