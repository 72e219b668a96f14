/*
 * peercred: the credentials of the process at the other end of a connected
 * Unix socket (SO_PEERCRED on Linux, getpeereid elsewhere), for virtsnapd.
 * Node cannot read them itself. One function, no state, N-API (ABI-stable, so
 * the binary survives Node upgrades within the N-API version).
 *
 *   getPeerCred(fd: number) -> { uid: number, gid: number, pid: number }  (pid -1 if unknown)
 *   throws Error with .code = errno name text on failure
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_PEERCRED", msg);
  return NULL;
}

static napi_value set_int(napi_env env, napi_value obj, const char *name, double value) {
  napi_value v;
  if (napi_create_double(env, value, &v) != napi_ok) return NULL;
  if (napi_set_named_property(env, obj, name, v) != napi_ok) return NULL;
  return obj;
}

static napi_value get_peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "getPeerCred(fd): fd must be a non-negative integer");
    return NULL;
  }
  double uid, gid, pid;
#if defined(SO_PEERCRED) && defined(__linux__)
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  uid = cred.uid;
  gid = cred.gid;
  pid = cred.pid;
#else
  uid_t u;
  gid_t g;
  if (getpeereid(fd, &u, &g) != 0) return throw_errno(env, "getpeereid", errno);
  uid = u;
  gid = g;
  pid = -1;
#endif
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  if (!set_int(env, obj, "uid", uid) || !set_int(env, obj, "gid", gid) || !set_int(env, obj, "pid", pid)) return NULL;
  return obj;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "getPeerCred", NAPI_AUTO_LENGTH, get_peer_cred, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "getPeerCred", fn) != napi_ok) return NULL;
  return exports;
}
