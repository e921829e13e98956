#!/usr/bin/env bash
# A throwaway Postfix instance for cordon's behaviour tests, with its own config, queue and log
# under DIR. It listens on 127.0.0.1:IN_PORT and relays everything to RELAY (host:port).
#   postfix-instance.sh start DIR IN_PORT RELAY   |   stop DIR   |   flush DIR
# Gotchas handled: `postfix -c DIR` wants /etc/postfix/main.cf to list DIR in
# alternate_config_directories; the data directory must belong to postfix; chroot must be off
# for a queue outside /var/spool.
set -eu -o pipefail
cmd=$1; dir=$2
case $cmd in
start)
  in_port=$3 relay=$4
  rm -rf "$dir"; mkdir -p "$dir/etc" "$dir/spool" "$dir/data"
  # master.cf: our smtpd listener, and every service unchrooted.
  sed -e "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$in_port inet n - n - - smtpd/" \
      -e 's/^\([a-z]\+ \+\(unix\|fifo\|unix-dgram\) \+[-n] \+[-n] \+\)y/\1n/' \
      /etc/postfix/master.cf > "$dir/etc/master.cf"
  cat > "$dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
myhostname = exo-sim.contoso.com
mydomain = contoso.com
myorigin = contoso.com
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [${relay%:*}]:${relay##*:}
smtp_tls_security_level = none
smtpd_relay_restrictions = permit_mynetworks, reject
maillog_file_prefixes = /tmp, /var, $dir
maillog_file = $dir/maillog
multi_instance_name = pf-$in_port
smtp_connection_cache_on_demand = no
message_size_limit = 104857600
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
CF
  chown postfix:postfix "$dir/data"
  touch /etc/postfix/main.cf
  grep -q "^alternate_config_directories" /etc/postfix/main.cf || echo "alternate_config_directories =" >> /etc/postfix/main.cf
  grep -q "$dir/etc" /etc/postfix/main.cf || sed -i "s|^alternate_config_directories =.*|& $dir/etc|" /etc/postfix/main.cf
  postfix -c "$dir/etc" check
  postfix -c "$dir/etc" start
  ;;
stop) postfix -c "$dir/etc" stop >/dev/null 2>&1 || true ;;
flush) postqueue -c "$dir/etc" -f ;;
esac
