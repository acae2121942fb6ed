#!/usr/bin/env bash
# Throwaway single-host Ceph for the S3 driver tests: 1 mon + 1 memstore osd + radosgw on 127.0.0.1.
# No systemd, no /etc/ceph, no mgr, cephx off (loopback only). Everything lives in $CEPH_RUN; data is in RAM.
#
#   CEPH_RUN=DIR (required, empty)   CEPH_RGW_PORT (7480)   CEPH_MON_PORT (6789)   CEPH_MEMSTORE_BYTES (2 GiB)
#
# S3: http://127.0.0.1:$CEPH_RGW_PORT, access key "test", secret "test", any region, path-style.
# Writes the PIDs it started to $CEPH_RUN/pids (the caller stops them with kill); logs in $CEPH_RUN/log.
# Needs Debian packages ceph-mon ceph-osd radosgw ceph-common.
set -euo pipefail
RUN=${CEPH_RUN:?CEPH_RUN must name an empty directory}
RGW_PORT=${CEPH_RGW_PORT:-7480}
MON_PORT=${CEPH_MON_PORT:-6789}
MEMSTORE_BYTES=${CEPH_MEMSTORE_BYTES:-2147483648}
CONF=$RUN/ceph.conf
C=(-c "$CONF")

for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen; do
  command -v "$bin" >/dev/null || { echo "start-ceph: $bin not found (apt-get install ceph-mon ceph-osd radosgw ceph-common)" >&2; exit 3; }
done

mkdir -p "$RUN"/{mon/a,osd/0,run,log,rgw}
: > "$RUN/pids"
# On any failure stop what we started; keep $RUN for the logs.
trap 'echo "start-ceph: failed, logs in $RUN/log" >&2; kill $(cat "$RUN/pids") 2>/dev/null || true' ERR

FSID=$(uuidgen)
cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon_host = v1:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr2 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_allow_insecure_global_id_reclaim = true
run_dir = $RUN/run
admin_socket = $RUN/run/\$name.asok
log_file = $RUN/log/\$name.log
log_to_stderr = false
err_to_stderr = true
pid_file = $RUN/run/\$name.pid
keyring = /dev/null
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_data_avail_warn = 1
mon_data_avail_crit = 0
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2
ms_async_op_threads = 1

[mon.a]
mon_data = $RUN/mon/a
mon_addr = v1:127.0.0.1:$MON_PORT

[osd.0]
osd_data = $RUN/osd/0
osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_data = $RUN/rgw
rgw_dns_name = 127.0.0.1
rgw_thread_pool_size = 64
rgw_enable_usage_log = false
EOF

monmaptool --create --fsid "$FSID" --addv a "[v1:127.0.0.1:$MON_PORT]" "$RUN/monmap" >/dev/null
ceph-mon "${C[@]}" -i a --mkfs --monmap "$RUN/monmap"
ceph-mon "${C[@]}" -i a -f > "$RUN/log/mon.out" 2>&1 &
echo $! >> "$RUN/pids"
for _ in $(seq 100); do ceph "${C[@]}" --connect-timeout 2 mon stat >/dev/null 2>&1 && break; sleep 0.2; done

OSD_UUID=$(uuidgen)
OSD_ID=$(ceph "${C[@]}" osd new "$OSD_UUID")
ceph-osd "${C[@]}" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" > "$RUN/log/osd-mkfs.out" 2>&1
# A fresh OSD occasionally aborts at boot when its first mon command races the monmap ("wrong fsid");
# starting it again is the known fix.
up=""
for _ in 1 2 3 4 5; do
  ceph-osd "${C[@]}" -i "$OSD_ID" -f >> "$RUN/log/osd.out" 2>&1 &
  OSD_PID=$!
  for _ in $(seq 150); do
    kill -0 "$OSD_PID" 2>/dev/null || break
    ceph "${C[@]}" osd dump 2>/dev/null | grep -q "^osd.$OSD_ID up" && { up=1; break; }
    sleep 0.2
  done
  [ -n "$up" ] && break
  kill "$OSD_PID" 2>/dev/null || true
  wait "$OSD_PID" 2>/dev/null || true
done
[ -n "$up" ] || { echo "start-ceph: ceph-osd did not come up" >&2; false; }
echo "$OSD_PID" >> "$RUN/pids"

# Faster paxos commits for the pool creation below (only safe once the OSD has booted).
ceph "${C[@]}" --admin-daemon "$RUN/run/mon.a.asok" config set paxos_propose_interval 0.05 >/dev/null
# Pre-create radosgw's pools: created lazily they cost ~2 s on the first bucket, object and multipart op.
{ for p in .rgw.root default.rgw.log default.rgw.control default.rgw.meta default.rgw.buckets.index \
           default.rgw.buckets.data default.rgw.buckets.non-ec; do
    echo "osd pool create $p 8 8"; echo "osd pool application enable $p rgw"; done; } | ceph "${C[@]}" > "$RUN/log/pools.out" 2>&1

radosgw "${C[@]}" -n client.rgw.a -f > "$RUN/log/rgw.out" 2>&1 &
RGW_PID=$!
echo "$RGW_PID" >> "$RUN/pids"
for _ in $(seq 300); do
  curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break
  kill -0 "$RGW_PID" 2>/dev/null || { echo "start-ceph: radosgw exited" >&2; false; }
  sleep 0.2
done
timeout 60 radosgw-admin "${C[@]}" user create --uid=test --display-name=test --access-key=test --secret-key=test \
  > "$RUN/log/user.json"
echo "ceph up in $RUN (pids: $(tr '\n' ' ' < "$RUN/pids"))"
