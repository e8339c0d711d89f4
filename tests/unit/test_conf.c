/*
 * The configuration loader: every kind of mistake is reported at the right
 * line and column with the right words, good files give the values and
 * defaults of handoffd.yaml(5), and the shipped example configs parse.
 *
 * Test data is found through TESTS_SRCDIR (set by "make check" to the
 * absolute path of tests/), else "../tests".  The loader refuses key files
 * others may read, and git cannot record mode 0600, so the files of
 * tests/data that tests load are copied into a private directory with the
 * modes they need, and configs are parsed with the name DIR/t.yaml, so
 * that "key_file: test.key" resolves to the copy of tests/data/test.key.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "t.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static char	 srcdir[1024];	/* tests/ */
static char	 tmpdir[] = "/tmp/test_conf.XXXXXX"; /* copies of tests/data */
static char	 name[1200];	/* tmpdir/t.yaml */

/* What tmpdir holds, copied from tests/data, and their modes. */
static const struct {
	const char	*file;
	mode_t		 mode;
} copies[] = {
	{ "test.key", 0600 }, { "short.key", 0600 }, { "good.yaml", 0644 },
};

/* The common head of most configs below: 8 lines, so cases start at 9. */
#define NODE	"node:\n  id: n1\n  control: 10.1.1.1:7100\n" \
		"  server: 10.2.1.1:80\n"		/* lines 1-4 */
#define LWIP	"lwip:\n  address: 10.2.1.2\n"		/* 2 lines */
#define CTL	"control:\n  key_file: test.key\n"	/* 2 lines */
#define BASE	NODE LWIP CTL				/* lines 1-8 */
/* A peer n2 at lines 9-13 after BASE. */
#define PEER	"peers:\n  - id: n2\n    control: 10.1.2.2:7100\n" \
		"    stack_address: 10.2.2.2\n    server: 10.2.2.1:80\n"
/* A pool "all" of n1, 3 lines. */
#define POOL	"pools:\n  - name: all\n    members: [n1]\n"
/* 108 bytes: with a "/", one more than a UNIX socket's path may have. */
#define LONG108	"0123456789012345678901234567890123456789012345678901" \
		"23456789012345678901234567890123456789012345678901234567"

struct bad {
	const char	*yaml;
	const char	*pos;	/* "line:col" */
	const char	*msg;	/* a substring of what follows the position */
};

static const struct bad bad[] = {
	/* node.access_log */
	{ NODE "  access_log: syslog:dev/log\n" LWIP CTL, "5:15",
	  "node.access_log: \"syslog:dev/log\": a syslog socket's path must "
	  "be absolute" },
	{ NODE "  access_log: syslog:/" LONG108 "\n" LWIP CTL, "5:15",
	  "a socket's path has at most 107 bytes" },
	{ NODE "  access_log_facility: local8\n" LWIP CTL, "5:24",
	  "node.access_log_facility" },
	/* Keys and types. */
	{ BASE "tun:\n  nmae: hoff1\n", "10:3",
	  "tun: unknown key \"nmae\" (did you mean \"name\"?)" },
	{ BASE "tunnel:\n  name: hoff1\n", "9:1", "unknown key \"tunnel\"" },
	{ BASE "tun:\n  mtu: 1500\n  mtu: 1400\n", "11:3",
	  "tun: duplicate key \"mtu\" (first at 10:3)" },
	{ BASE "tun:\n  mtu: [1500]\n", "10:8",
	  "tun.mtu: expected a number, got a sequence" },
	{ BASE "tun: [hoff1]\n", "9:6", "tun: expected a mapping, got a "
	  "sequence" },
	{ BASE "peers:\n  id: n2\n", "10:3",
	  "peers: expected a sequence, got a mapping" },
	{ BASE "peers:\n  - n2\n", "10:5",
	  "peers[0]: expected a mapping, got a scalar" },
	{ BASE "tun:\n  mtu:\n", "10:7", "tun.mtu: missing value" },
	{ BASE "tun:\n  {a: b}: 1\n", "10:3", "tun: a key must be a name" },
	{ "- node\n", "1:1", "expected a mapping at the top, got a sequence" },
	/* Numbers: range, trailing junk, units. */
	{ BASE "handoff:\n  max_flows: 3\n", "10:14",
	  "handoff.max_flows: 3 is out of range 16..4194304" },
	/* A number has no sign, not even on 0. */
	{ BASE "handoff:\n  window_scale: -1\n", "10:17",
	  "handoff.window_scale: \"-1\" is not an integer" },
	{ BASE "handoff:\n  lookups: -0\n", "10:12",
	  "handoff.lookups: \"-0\" is not an integer" },
	{ BASE "handoff:\n  timeout: -1s\n", "10:12",
	  "handoff.timeout: \"-1s\" is not a duration" },
	{ BASE "handoff:\n  request_head_max: -1k\n", "10:21",
	  "handoff.request_head_max: \"-1k\" is not a size" },
	{ BASE "handoff:\n  max_flows: 99999999999999999999999\n", "10:14",
	  "is out of range 16..4194304" },
	{ BASE "tun:\n  mtu: 1500x\n", "10:8",
	  "tun.mtu: \"1500x\" is not an integer" },
	{ BASE "tun:\n  mtu: \" 1500\"\n", "10:8",
	  "tun.mtu: \" 1500\" is not an integer" },
	{ BASE "tun:\n  mtu: 0x5dc\n", "10:8", "\"0x5dc\" is not an integer" },
	{ BASE "handoff:\n  timeout: abc\n", "10:12",
	  "handoff.timeout: \"abc\" is not a duration (like 500ms, 2s, 1m)" },
	{ BASE "handoff:\n  timeout: 1.5s\n", "10:12",
	  "\"1.5s\" is not a duration" },
	{ BASE "handoff:\n  timeout: 5\n", "10:12",
	  "handoff.timeout: \"5\" needs a unit (ms, s, m or h)" },
	{ BASE "handoff:\n  timeout: 5ms\n", "10:12",
	  "handoff.timeout: 5ms is out of range 10ms..1m" },
	{ BASE "handoff:\n  idle: 9999999999999999h\n", "10:9",
	  "handoff.idle: 9999999999999999h is out of range 1s..24h" },
	{ BASE "handoff:\n  request_head_max: 8q\n", "10:21",
	  "handoff.request_head_max: \"8q\" is not a size (like 512, 8k, 1m)" },
	{ BASE "handoff:\n  request_head_max: 2m\n", "10:21",
	  "2m is out of range 256..1m" },
	/* IPv6: a service's listen address only, quoted, a host's address;
	 * every stack with an IPv6 address of its own. */
	{ BASE POOL "services:\n  - name: web\n    listen: \"[fd00:9::1]80\"\n"
	  "    pool: all\n", "14:13", "services[0].listen: \"[fd00:9::1]80\" "
	  "is not an IPv4 address:port or [IPv6 address]:port" },
	{ BASE POOL "services:\n  - name: web\n    listen: \"[fd00:9::1:80\"\n"
	  "    pool: all\n", "14:13", "is not an IPv4 address:port or [IPv6" },
	{ BASE POOL "services:\n  - name: web\n    listen: \"[10.9.0.1]:80\"\n"
	  "    pool: all\n", "14:13", "is not an IPv4 address:port or [IPv6" },
	{ BASE POOL "services:\n  - name: web\n    listen: \"[fe80::1]:80\"\n"
	  "    pool: all\n", "14:13", "is not an IPv4 address:port or [IPv6" },
	{ BASE POOL "services:\n  - name: web\n"
	  "    listen: \"[::ffff:10.9.0.1]:80\"\n    pool: all\n", "14:13", "is not an IPv4 address:port or [IPv6" },
	{ BASE POOL "services:\n  - name: web\n    listen: \"[fd00:9::1]:0\"\n"
	  "    pool: all\n", "14:13", "port 0 is out of range 1..65535" },
	{ BASE POOL "services:\n  - name: web\n    listen: fd00:9::1:80\n"
	  "    pool: all\n", "14:13", "is not an IPv4 address:port or [IPv6" },
	/* Unquoted, YAML reads a sequence. */
	{ BASE POOL "services:\n  - name: web\n    listen: [fd00:9::1]:80\n"
	  "    pool: all\n", "14:24", "YAML syntax" },
	{ "node:\n  id: n1\n  control: \"[fd00:1::1]:7100\"\n", "3:12",
	  "node.control: \"[fd00:1::1]:7100\": only a service's listen "
	  "address may be IPv6" },
	{ NODE "  server_address6: \"[fd00:2::1]\"\n" LWIP CTL, "5:20",
	  "node.server_address6: \"[fd00:2::1]\" is not an IPv6 address of a "
	  "host" },
	{ NODE "  server_address6: 10.2.1.1\n" LWIP CTL, "5:20",
	  "is not an IPv6 address of a host" },
	{ NODE "  server_address6: ::1\n" LWIP CTL, "5:20",
	  "is not an IPv6 address of a host" },
	{ BASE POOL "services:\n  - name: web\n    listen: \"[fd00:9::1]:80\"\n"
	  "    pool: all\n", "14:13", "services[0].listen: service web: an "
	  "IPv6 VIP needs lwip.address6, where this node's stack "
	  "(handoff.stack lwip) takes IPv6 connections" },
	{ BASE POOL "services:\n  - name: web\n    listen: \"[fd00:9::1]:80\"\n"
	  "    pool: all\n    handshake: cookie\n", "14:13",
	  "service web: an IPv6 VIP needs lwip.address6" },
	{ NODE LWIP "  address6: 10.2.1.3\n" CTL, "7:13",
	  "lwip.address6: \"10.2.1.3\" is not an IPv6 address of a host" },
	{ NODE LWIP "  address6: ff02::1\n" CTL, "7:13",
	  "is not an IPv6 address of a host" },
	{ NODE LWIP "  address6: fd00:2:1::2\n" CTL "tun:\n  mtu: 1279\n",
	  "7:13", "lwip.address6: an IPv6 address needs tun.mtu 1280" },
	{ BASE POOL "services:\n  - name: web\n    listen: \"[fd00:9::1]:80\"\n"
	  "    pool: all\n    handshake: cookie\ntun:\n  mtu: 1279\n", "14:13",
	  "an IPv6 service needs tun.mtu 1280 or more" },
	{ NODE "  server_address6: fd00:2:1::1\n" LWIP CTL "tun:\n  mtu: 1200\n",
	  "5:20", "node.server_address6: an IPv6 address needs tun.mtu 1280" },
	{ BASE POOL "services:\n  - name: web\n    listen: \"[fd00:9::1]:80\"\n"
	  "    pool: all\n    handshake: cookie\nhandoff:\n  stack: kernel\n",
	  "14:13", "service web: an IPv6 VIP needs node.server_address6" },
	{ NODE "  server_address6: fd00:2:1::1\n" LWIP CTL PEER
	  "    stack: kernel\n" POOL "services:\n  - name: web\n"
	  "    listen: \"[fd00:9::1]:80\"\n    pool: all\n"
	  "    handshake: cookie\nhandoff:\n  stack: kernel\n", "11:9",
	  "peer n2: with an IPv6 service (web), every peer needs a "
	  "stack_address6" },
	/* Addresses, ports, prefixes, names. */
	{ NODE CTL "lwip:\n  address: 10.2.1.300\n", "8:12",
	  "lwip.address: \"10.2.1.300\" is not an IPv4 address" },
	{ NODE CTL "lwip:\n  address: 10.2.1\n", "8:12",
	  "\"10.2.1\" is not an IPv4 address" },
	{ NODE CTL LWIP "  loss_tolerance: 6\n", "9:19",
	  "lwip.loss_tolerance: \"6\" is not auto, 0, 1, 2, 3, 4 or 5" },
	{ NODE CTL LWIP "  loss_tolerance: 2%\n", "9:19",
	  "lwip.loss_tolerance: \"2%\" is not auto, 0, 1, 2, 3, 4 or 5" },
	{ BASE PEER "  - id: n3\n    control: 10.0.0.300:7100\n", "15:14",
	  "peers[1].control: \"10.0.0.300:7100\" is not an IPv4 address:port" },
	{ BASE PEER "  - id: n3\n    control: 10.0.0.3:0\n", "15:14",
	  "peers[1].control: \"10.0.0.3:0\": port 0 is out of range 1..65535" },
	{ BASE PEER "  - id: n3\n    control: 10.0.0.3:65536\n", "15:14",
	  "port 65536 is out of range 1..65535" },
	{ BASE PEER "  - id: n3\n    control: 10.0.0.3:80x\n", "15:14",
	  "\"10.0.0.3:80x\" is not an IPv4 address:port" },
	{ BASE PEER "  - id: n3\n    control: 10.0.0.3\n", "15:14",
	  "\"10.0.0.3\" is not an IPv4 address:port" },
	{ BASE "tun:\n  address: 10.2.1.1/33\n", "10:12",
	  "tun.address: \"10.2.1.1/33\" is not an IPv4 prefix" },
	{ BASE "tun:\n  address: 10.2.1.1\n", "10:12",
	  "\"10.2.1.1\" is not an IPv4 prefix" },
	{ BASE "tun:\n  name: hoff0hoff0hoff0hoff0\n", "10:9",
	  "tun.name: \"hoff0hoff0hoff0hoff0\" is not an interface name "
	  "(1 to 15 of" },
	{ BASE PEER "  - id: n/3\n", "14:9",
	  "peers[1].id: \"n/3\" is not a name (1 to 31 of A-Z a-z 0-9 . _ -)" },
	{ BASE "tun:\n  name: \"a\\0b\"\n", "10:9",
	  "tun.name: the value contains a NUL character" },
	{ BASE "tun:\n  table: 254\n", "10:10",
	  "tun.table: 254 is the kernel's own main table" },
	{ BASE "tun:\n  table: 0\n", "10:10",
	  "tun.table: 0 is out of range 1..2147483647" },
	{ BASE "metrics:\n  listen: 127.0.0.1\n", "10:11",
	  "metrics.listen: \"127.0.0.1\" is not an IPv4 address:port" },
	{ BASE "metrics:\n  port: 9100\n", "10:3",
	  "metrics: unknown key \"port\"" },
	/* Enumerations. */
	{ BASE "handoff:\n  stack: bsd\n", "10:10",
	  "handoff.stack: \"bsd\" is not lwip or kernel" },
	{ BASE "handoff:\n  handshake: [lwip]\n", "10:14",
	  "expected lwip or cookie, got a sequence" },
	{ BASE "handoff:\n  proxy_protocol: v3\n", "10:19",
	  "handoff.proxy_protocol: \"v3\" is not off, v1 or v2" },
	{ BASE "handoff:\n  proxy_protocol: on\n", "10:19",
	  "handoff.proxy_protocol: \"on\" is not off, v1 or v2" },
	{ BASE POOL "    policy: fastest\n", "12:13", "pools[0].policy: "
	  "\"fastest\" is not round-robin, least-conn, hash or lard" },
	{ BASE POOL "    hash_key: cookie\n", "12:15",
	  "pools[0].hash_key: \"cookie\" is not path, host or header:NAME" },
	{ BASE POOL "    hash_key: \"header:\"\n", "12:15",
	  "\"header:\" is not path, host or header:NAME" },
	/* Required keys. */
	{ "node:\n  control: 10.1.1.1:7100\n  server: 10.2.1.1:80\n" LWIP CTL,
	  "1:1", "node: missing required key \"id\"" },
	{ "# no lwip\n" NODE CTL, "2:1", "missing required key \"lwip\"" },
	{ NODE LWIP, "1:1", "missing required key \"control\"" },
	{ BASE "peers:\n  - id: n2\n    control: 10.1.2.2:7100\n", "10:5",
	  "peers[0]: missing required key \"stack_address\"" },
	{ BASE "pools:\n  - name: all\n", "10:5",
	  "pools[0]: missing required key \"members\"" },
	{ BASE "pools:\n  - name: all\n    members: []\n", "11:14",
	  "pools[0].members: needs at least 1 entry" },
	{ BASE "pools:\n  - name: all\n    members:\n", "11:5",
	  "pools[0].members: needs at least 1 entry" },
	{ BASE POOL "services:\n  - name: web\n    pool: all\n", "13:5",
	  "services[0]: missing required key \"listen\"" },
	/* Ids, names and references across sections. */
	{ BASE PEER "  - id: n2\n    control: 10.1.3.2:7100\n"
	  "    stack_address: 10.2.3.2\n    server: 10.2.3.1:80\n", "14:9",
	  "peers[1].id: duplicate id \"n2\" (first at 10:9)" },
	{ BASE "peers:\n  - id: n1\n    control: 10.1.2.2:7100\n"
	  "    stack_address: 10.2.2.2\n    server: 10.2.2.1:80\n", "10:9",
	  "peers[0].id: \"n1\" is this node's own id (node.id)" },
	/* Peers are told apart by their control addresses. */
	{ BASE "peers:\n  - id: n2\n    control: 10.1.1.1:7100\n"
	  "    stack_address: 10.2.2.2\n    server: 10.2.2.1:80\n", "11:14",
	  "peers[0].control: is this node's own control address "
	  "(node.control)" },
	{ BASE PEER "  - id: n3\n    control: 10.1.2.2:7100\n"
	  "    stack_address: 10.2.3.2\n    server: 10.2.3.1:80\n", "15:14",
	  "peers[1].control: duplicate control address 10.1.2.2:7100 "
	  "(first at 11:14)" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.2.1.2:80\n"
	  "    pool: all\n", "14:13", "services[0].listen: is lwIP's own "
	  "address (lwip.address)" },
	{ NODE "  state_file: test.key\n" LWIP CTL, "5:15",
	  "node.state_file: is control.key_file too" },
	{ NODE "  state_file: s\n  status_file: s\n" LWIP CTL, "5:15",
	  "node.state_file: is node.status_file too" },
	{ BASE POOL "  - name: all\n    members: [n1]\n", "12:11",
	  "pools[1].name: duplicate pool name \"all\" (first at 10:11)" },
	{ BASE PEER "pools:\n  - name: all\n    members:\n      - node: n2\n"
	  "      - node: n9\n", "18:15",
	  "pools[0].members[1].node: \"n9\" is neither this node nor a peer" },
	/* A back-end takes handoffs to its own services only. */
	{ BASE PEER, "10:9", "peers[0].id: a node with peers lists the "
	  "cluster's services" },
	{ BASE PEER "pools:\n  - name: all\n    members: [n2, n1, n2]\n",
	  "16:23", "pools[0].members[2].node: duplicate member \"n2\" "
	  "(first at 16:15)" },
	{ BASE POOL "    lard_low: 80\n", "12:15",
	  "pools[0].lard_low: 80 must be less than lard_high (65)" },
	{ BASE POOL "    lard_low: 10\n    lard_high: 10\n", "13:16",
	  "pools[0].lard_high: 10 must be greater than lard_low (10)" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: nope\n", "15:11", "services[0].pool: unknown pool \"nope\"" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - host: a.example\n"
	  "        pool: images\n", "18:15",
	  "services[0].rules[0].pool: unknown pool \"images\"" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n  - name: web\n    listen: 10.9.0.2:80\n"
	  "    pool: all\n", "16:11",
	  "services[1].name: duplicate service name \"web\" (first at 13:11)" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n  - name: www\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n", "17:13", "services[1].listen: duplicate listen "
	  "address 10.9.0.1:80 (first at 14:13)" },
	/* Rules. */
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - pool: all\n", "17:9",
	  "services[0].rules[0]: a rule needs a condition" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - path_regex: '(png'\n"
	  "        pool: all\n", "17:21",
	  "services[0].rules[0].path_regex: \"(png\" is not a regular "
	  "expression: " },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - path_regex: '((a{100}){1000})'\n"
	  "        pool: all\n", "17:21", "repeats too much" },
	/* A count of a count, without a group (glibc: 213 MB for this). */
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - path_regex: 'a{1000}{1000}'\n"
	  "        pool: all\n", "17:21", "repeats too much" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - path_regex: 'a{2,150}+{150}'\n"
	  "        pool: all\n", "17:21", "repeats too much" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - path_regex: '(a)\\1'\n"
	  "        pool: all\n", "17:21", "uses a back-reference" },
	/* Requests carry no controls, as for every other string. */
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - path_regex: \"^/a\\tb\"\n"
	  "        pool: all\n", "17:21", "contains control characters" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - path_prefix: /a\n"
	  "        header_value: blue\n        pool: all\n", "18:23",
	  "services[0].rules[0].header_value: needs \"header\" in the same rule" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - header_value: blue\n"
	  "        pool: all\n", "17:23",
	  "services[0].rules[0].header_value: needs \"header\" in the same rule" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - path_prefix: static/\n"
	  "        pool: all\n", "17:22",
	  "\"static/\" does not start with \"/\"" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - method: get\n"
	  "        pool: all\n", "17:17", "\"get\" is not an HTTP method" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - header: X Tenant\n"
	  "        pool: all\n", "17:17", "\"X Tenant\" is not a header name" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - host: \"*\"\n"
	  "        pool: all\n", "17:15", "\"*\" is not a host name" },
	/* TLS services: rules of their own, pools that need no path. */
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - sni: a.example\n"
	  "        pool: all\n", "17:14",
	  "services[0].rules[0].sni: needs \"protocol: tls\" in the service" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: all\n    protocol: tls\n    rules:\n"
	  "      - alpn: h2\n        host: a.example\n        pool: all\n",
	  "19:15", "services[0].rules[0].host: an HTTP condition in a service "
	  "of protocol tls, whose rules match sni and alpn" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: all\n    protocol: tls\n    rules:\n"
	  "      - sni: \"a b\"\n        pool: all\n", "18:14",
	  "services[0].rules[0].sni: \"a b\" is not a server name" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: all\n    protocol: tls\n    rules:\n"
	  "      - sni: a.example:443\n        pool: all\n", "18:14",
	  "\"a.example:443\" is not a server name" },
	/* A final dot is dropped (names are compared without one): one
	 * that leaves no name is refused. */
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: all\n    protocol: tls\n    rules:\n"
	  "      - sni: \"*..\"\n        pool: all\n", "18:14",
	  "services[0].rules[0].sni: \"*..\" names no host" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: all\n    protocol: tls\n    rules:\n"
	  "      - sni: a.example..\n        pool: all\n", "18:14",
	  "\"a.example..\" names no host" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	  "    pool: all\n    rules:\n      - host: \".\"\n"
	  "        pool: all\n", "17:15", "\".\" names no host" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: all\n    protocol: tls\n    rules:\n      - alpn: "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "\n        pool: all\n", "18:15",
	  "is longer than an ALPN protocol name (at most 255 bytes)" },
	{ BASE POOL "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: all\n    protocol: https\n", "16:15",
	  "services[0].protocol: \"https\" is not http or tls" },
	{ BASE "pools:\n  - name: all\n    policy: lard\n    members: [n1]\n"
	  "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: all\n    protocol: tls\n", "16:11",
	  "services[0].pool: pool \"all\" uses lard, which follows request "
	  "paths: a ClientHello shows none" },
	{ BASE "pools:\n  - name: all\n    members: [n1]\n  - name: h\n"
	  "    policy: hash\n    members: [n1]\n"
	  "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: all\n    protocol: tls\n    rules:\n"
	  "      - sni: a.example\n        pool: h\n", "22:15",
	  "services[0].rules[0].pool: pool \"h\" hashes request paths" },
	{ BASE "pools:\n  - name: all\n    members: [n1]\n  - name: h\n"
	  "    policy: hash\n    hash_key: header:X-User\n    members: [n1]\n"
	  "services:\n  - name: web\n    listen: 10.9.0.1:443\n"
	  "    pool: h\n    protocol: tls\n", "19:11",
	  "pool \"h\" hashes a request header" },
	/* node.servers */
	{ NODE "  servers:\n    - {port: 443, server: 10.2.1.1:443}\n"
	  "    - {port: 443, server: 10.2.1.1:8443}\n" LWIP CTL, "7:14",
	  "node.servers[1].port: duplicate port 443 (first at 6:14)" },
	{ NODE "  servers:\n    - {port: 0, server: 10.2.1.1:443}\n" LWIP CTL,
	  "6:14", "node.servers[0].port: 0 is out of range 1..65535" },
	{ NODE "  servers:\n    - {port: 443}\n" LWIP CTL, "6:7",
	  "node.servers[0]: missing required key \"server\"" },
	{ NODE "  servers:\n    - {port: 443, server: 10.2.1.3:443}\n" LWIP CTL
	  "handoff:\n  stack: kernel\n", "6:27", "node.servers[0].server: "
	  "with handoff.stack kernel, every server must be on node.server's "
	  "address 10.2.1.1" },
	{ BASE POOL "    check_path: health\n", "12:17",
	  "pools[0].check_path: \"health\" does not start with \"/\"" },
	/* Orderings between keys. */
	{ NODE LWIP CTL "  heartbeat: 2s\n  dead_after: 2s\n", "10:15",
	  "control.dead_after: 2s must be greater than heartbeat (2s)" },
	{ NODE LWIP CTL "  heartbeat: 6s\n", "9:14",
	  "control.heartbeat: 6s must be less than dead_after (5s)" },
	{ NODE LWIP CTL "  reconnect_min: 10s\n  reconnect_max: 1s\n", "10:18",
	  "control.reconnect_max: 1s must be at least reconnect_min (10s)" },
	{ NODE LWIP CTL "  handshake_max_per_address: 65\n", "9:30",
	  "control.handshake_max_per_address: 65 must be at most "
	  "handshake_max (64)" },
	{ NODE LWIP CTL "  handshake_timeout: 50ms\n", "9:22",
	  "control.handshake_timeout: 50ms is out of range 100ms..1m" },
	{ BASE "handoff:\n  request_head_max: 16k\n  request_buffer_max: 8k\n",
	  "11:23", "handoff.request_buffer_max: 8k must be at least "
	  "request_head_max (16k)" },
	{ NODE LWIP CTL "  frame_max: 64k\n", "9:14", "control.frame_max: "
	  "64k must be at least handoff.request_buffer_max + 257k (321k)" },
	{ BASE "handoff:\n  request_buffer_max: 1m\n", "10:23",
	  "handoff.request_buffer_max: 1m must be at most control.frame_max "
	  "- 257k (767k)" },
	/* A PROXY header where node.server also gets connections without. */
	{ BASE "handoff:\n  stack: kernel\n  proxy_protocol: v1\n", "11:19",
	  "handoff.proxy_protocol: needs handoff.stack lwip (the kernel stack "
	  "hands node.server connections without the header)" },
	{ BASE POOL "    check_path: /health\nhandoff:\n  proxy_protocol: v2\n",
	  "12:17", "pools[0].check_path: the check of this node (n1) would "
	  "reach node.server without the PROXY header that "
	  "handoff.proxy_protocol makes it expect" },
	/* The key file. */
	{ NODE LWIP "control:\n  key_file: missing.key\n", "8:13",
	  "control.key_file: cannot read \"" },
	{ NODE LWIP "control:\n  key_file: short.key\n", "8:13",
	  "short.key\" is 9 bytes, at least 16 are needed" },
	{ NODE LWIP "control:\n  key_file: .\n", "8:13",
	  "is not a regular file" },
	{ NODE LWIP "control:\n  key_file: \"\"\n", "8:13",
	  "control.key_file: a path cannot be empty" },
	{ BASE "  key_file_insecure_ok: yes\n", "9:25",
	  "control.key_file_insecure_ok: \"yes\" is not false or true" },
	/* Users and groups, resolved at load. */
	{ NODE "  user: no-such-user-hd\n" LWIP CTL, "5:9",
	  "node.user: unknown user \"no-such-user-hd\"" },
	{ NODE "  user: root\n" LWIP CTL, "5:9",
	  "node.user: \"root\" is root (leave node.user out to run as root)" },
	{ NODE "  group: daemon\n" LWIP CTL, "5:10",
	  "node.group: needs \"user\" in the same section" },
	{ NODE "  user: a/b\n" LWIP CTL, "5:9",
	  "node.user: \"a/b\" is not a name (1 to 32 of" },
	/* YAML itself. */
	{ BASE "tun:\n  name: &a hoff1\n  mtu: *a\n", "10:9",
	  "YAML aliases and anchors are not supported" },
	{ BASE "tun:\n  table: !!float 254\n", "10:10",
	  "YAML tags (tag:yaml.org,2002:float) are not supported" },
	{ BASE "tun: !x\n  table: 254\n", "9:6",
	  "YAML tags (!x) are not supported" },
	{ BASE "tun:\n  name: a: b\n", "10:10",
	  "YAML syntax: mapping values are not allowed in this context" },
	{ BASE "tun:\n  name: [a\n", "11:1", "YAML syntax: " },
	{ BASE "---\ntun: {}\n", "9:1", "only one YAML document is allowed" },
	{ BASE "tun: [[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]\n", "9:21",
	  "YAML nested deeper than 16 levels" },
	{ BASE "tun:\n  name: \"\xff\"\n", "10:10", "YAML syntax: " },
	{ "", "1:1", "empty configuration" },
	{ "# only a comment\n\n", "1:1", "empty configuration" },
	{ "---\n", "1:1", "empty configuration" },
};

/* Parses yaml as tmpdir/t.yaml and checks the one-line error. */
static void
check_bad(const struct bad *b, size_t i)
{
	struct cfg	*c;
	char		 err[512], want[64];
	size_t		 n = strlen(name);

	memset(err, 'X', sizeof(err));
	c = cfg_parse(name, b->yaml, strlen(b->yaml), err, sizeof(err));
	if (c != NULL) {
		fprintf(stderr, "bad[%zu]: parsed, expected %s: %s\n", i,
		    b->pos, b->msg);
		exit(1);
	}
	snprintf(want, sizeof(want), ":%s: ", b->pos);
	if (strncmp(err, name, n) != 0 || strncmp(err + n, want,
	    strlen(want)) != 0 || strstr(err + n + strlen(want), b->msg) ==
	    NULL || strchr(err, '\n') != NULL) {
		fprintf(stderr, "bad[%zu]: got      \"%s\"\n"
		    "          expected \"%s%s... %s\"\n", i, err, name, want,
		    b->msg);
		exit(1);
	}
	t_checks++;
}

/* Too many entries, at the position of the first one too many. */
static void
test_too_many(void)
{
	char		*y, err[512], want[64];
	struct cfg	*c;
	size_t		 len, cap = 64 * 1024;
	int		 i;

	CHECK((y = malloc(cap)) != NULL);
	len = (size_t)snprintf(y, cap, "%spools:\n  - name: all\n"
	    "    members:\n", BASE);			/* lines 9-11 */
	for (i = 0; i <= CFG_MAX_MEMBERS; i++)		/* lines 12-76 */
		len += (size_t)snprintf(y + len, cap - len, "      - n1\n");
	c = cfg_parse("t.yaml", y, len, err, sizeof(err));
	CHECK(c == NULL);
	snprintf(want, sizeof(want), "t.yaml:%d:9: pools[0].members: too many "
	    "entries (at most %d)", 12 + CFG_MAX_MEMBERS, CFG_MAX_MEMBERS);
	CHECK_STREQ(err, want);

	len = (size_t)snprintf(y, cap, "%speers:\n", BASE);	/* line 9 */
	for (i = 0; i <= CFG_MAX_PEERS; i++)
		len += (size_t)snprintf(y + len, cap - len, "  - {id: p%d, "
		    "control: 10.1.0.1:1, stack_address: 10.2.0.1, server: "
		    "10.2.0.1:80}\n", i);
	c = cfg_parse("t.yaml", y, len, err, sizeof(err));
	CHECK(c == NULL);
	snprintf(want, sizeof(want), "t.yaml:%d:5: peers: too many entries",
	    10 + CFG_MAX_PEERS);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	free(y);
}

/* The smallest config: everything else is the tables' defaults. */
static void
test_defaults(void)
{
	struct cfg	*c;
	char		 err[512], key[1200];

	c = cfg_parse(name, BASE, strlen(BASE), err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	CHECK_STREQ(c->cfg_path, name);
	CHECK_STREQ(c->cfg_node.cn_id, "n1");
	CHECK(addr_eq4(&c->cfg_node.cn_control.ep_addr, inet_addr("10.1.1.1")));
	CHECK_INTEQ(c->cfg_node.cn_control.ep_port, htons(7100));
	CHECK_INTEQ(c->cfg_node.cn_server.ep_port, htons(80));
	CHECK_STREQ(c->cfg_node.cn_status_file, "");
	CHECK_STREQ(c->cfg_node.cn_admin_socket, "/run/handoffd/handoffd.sock");
	CHECK_STREQ(c->cfg_node.cn_user, "");
	CHECK_STREQ(c->cfg_node.cn_group, "");
	CHECK_STREQ(c->cfg_tun.ct_name, "hoff0");
	CHECK_INTEQ(c->cfg_tun.ct_has_addr, 0);
	CHECK_INTEQ(c->cfg_tun.ct_mtu, 1500);
	CHECK_INTEQ(c->cfg_tun.ct_table, 100);
	CHECK_INTEQ(c->cfg_metrics.cm_listen.ep_port, 0);
	CHECK_INTEQ(c->cfg_lwip.cl_addr, inet_addr("10.2.1.2"));
	CHECK_INTEQ(c->cfg_lwip.cl_loss_tol, CFG_LOSS_AUTO);
	CHECK_INTEQ(c->cfg_npeers, 0);
	CHECK_INTEQ(c->cfg_nservices, 0);
	CHECK_INTEQ(c->cfg_npools, 0);
	CHECK_INTEQ(c->cfg_handoff.ch_handshake, CFG_HS_LWIP);
	CHECK_INTEQ(c->cfg_handoff.ch_stack, CFG_STACK_LWIP);
	CHECK_INTEQ(c->cfg_handoff.ch_timeout_ms, 1000);
	CHECK_INTEQ(c->cfg_handoff.ch_inject_retry_ms, 200);
	CHECK_INTEQ(c->cfg_handoff.ch_request_head_max, 8192);
	CHECK_INTEQ(c->cfg_handoff.ch_request_buffer_max, 65536);
	CHECK_INTEQ(c->cfg_handoff.ch_queue_max, 64);
	CHECK_INTEQ(c->cfg_handoff.ch_linger_ms, 5000);
	CHECK_INTEQ(c->cfg_handoff.ch_idle_ms, 300000);
	CHECK_INTEQ(c->cfg_handoff.ch_max_flows, 65536);
	CHECK_INTEQ(c->cfg_handoff.ch_window_scale, 7);
	CHECK_INTEQ(c->cfg_handoff.ch_mss, 1460);
	CHECK_INTEQ(c->cfg_handoff.ch_proxy_protocol, CFG_PP_OFF);
	/* A relative key_file starts at the config file's directory. */
	snprintf(key, sizeof(key), "%s/test.key", tmpdir);
	CHECK_STREQ(c->cfg_control.cc_key_file, key);
	CHECK_INTEQ(c->cfg_control.cc_key_insecure_ok, 0);
	CHECK_INTEQ(c->cfg_control.cc_keylen, 32);	/* "\n" stripped */
	CHECK(memcmp(c->cfg_control.cc_key, "k3Y-f0r-t3sts-0nly-9fQx7Lr2Wm4Zp",
	    32) == 0);
	CHECK_INTEQ(c->cfg_control.cc_heartbeat_ms, 1000);
	CHECK_INTEQ(c->cfg_control.cc_dead_ms, 5000);
	CHECK_INTEQ(c->cfg_control.cc_reconnect_min_ms, 100);
	CHECK_INTEQ(c->cfg_control.cc_reconnect_max_ms, 5000);
	CHECK_INTEQ(c->cfg_control.cc_frame_max, 1024 * 1024);
	CHECK_INTEQ(c->cfg_control.cc_handshake_ms, 5000);
	CHECK_INTEQ(c->cfg_control.cc_handshake_max, 64);
	CHECK_INTEQ(c->cfg_control.cc_handshake_per_addr, 4);
	cfg_free(c);
	cfg_free(NULL);
}

/* A config setting every key, in flow and block styles. */
static void
test_full(void)
{
	static const char y[] =
	    "node:\n"
	    "  id: n1\n"
	    "  control: 10.1.1.2:7100\n"
	    "  server: 10.2.1.1:8080\n"
	    "  status_file: run/status.json\n"
	    "tun: {name: hoff1, address: 10.2.1.1/24, mtu: 9000}\n"
	    "lwip:\n"
	    "  address: 10.2.1.2\n"
	    "peers:\n"
	    "  - id: n2\n"
	    "    control: 10.1.2.2:7100\n"
	    "    stack_address: 10.2.2.2\n"
	    "    server: 10.2.2.1:80\n"
	    "    stack: kernel\n"
	    "  - {id: n3, control: 10.1.3.2:7100, stack_address: 10.2.3.2,"
	    " server: 10.2.3.1:80}\n"
	    "services:\n"
	    "  - name: web\n"
	    "    listen: 10.9.0.1:80\n"
	    "    pool: all\n"
	    "    rules:\n"
	    "      - host: \"*.example.com\"\n"
	    "        path_prefix: /static/\n"
	    "        pool: static\n"
	    "      - path_regex: '\\.(png|jpg)$'\n"
	    "        method: GET\n"
	    "        pool: static\n"
	    "      - header: X-Tenant\n"
	    "        header_value: blue green\n"
	    "        pool: all\n"
	    "  - name: api\n"
	    "    listen: 10.9.0.1:443\n"
	    "    handshake: lwip\n"
	    "    pool: static\n"
	    "pools:\n"
	    "  - name: all\n"
	    "    policy: lard\n"
	    "    hash_key: header:X-User\n"
	    "    lard_low: 10\n"
	    "    lard_high: 20\n"
	    "    fail_threshold: 5\n"
	    "    check_path: /health\n"
	    "    check_interval: 500ms\n"
	    "    members:\n"
	    "      - n1\n"
	    "      - {node: n2, weight: 3}\n"
	    "      - node: n3\n"
	    "  - name: static\n"
	    "    policy: hash\n"
	    "    hash_key: host\n"
	    "    members: [n3]\n"
	    "handoff:\n"
	    "  handshake: cookie\n"
	    "  stack: kernel\n"
	    "  timeout: 2s\n"
	    "  inject_retry: 50ms\n"
	    "  request_head_max: 16k\n"
	    "  request_buffer_max: 1m\n"
	    "  queue_max: 128\n"
	    "  linger: 1m\n"
	    "  idle: 1h\n"
	    "  max_flows: 1000\n"
	    "  window_scale: 0\n"
	    "  mss: 1400\n"
	    "control:\n"
	    "  key_file: test.key\n"
	    "  heartbeat: 500ms\n"
	    "  dead_after: 3s\n"
	    "  reconnect_min: 50ms\n"
	    "  reconnect_max: 10s\n"
	    "  frame_max: 2M\n"
	    "  handshake_timeout: 2s\n"
	    "  handshake_max: 100\n"
	    "  handshake_max_per_address: 8\n";
	struct cfg		*c;
	struct cfg_service	*s;
	struct cfg_pool		*p;
	struct cfg_rule		*r;
	char			 err[512], want[1200];

	c = cfg_parse(name, y, sizeof(y) - 1, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	snprintf(want, sizeof(want), "%s/run/status.json", tmpdir);
	CHECK_STREQ(c->cfg_node.cn_status_file, want);
	CHECK_INTEQ(c->cfg_node.cn_server.ep_port, htons(8080));
	CHECK_STREQ(c->cfg_tun.ct_name, "hoff1");
	CHECK_INTEQ(c->cfg_tun.ct_has_addr, 1);
	CHECK_INTEQ(c->cfg_tun.ct_addr, inet_addr("10.2.1.1"));
	CHECK_INTEQ(c->cfg_tun.ct_prefix, 24);
	CHECK_INTEQ(c->cfg_tun.ct_mtu, 9000);

	CHECK_INTEQ(c->cfg_npeers, 2);
	CHECK_STREQ(c->cfg_peers[0].cp_id, "n2");
	CHECK_INTEQ(c->cfg_peers[0].cp_stack, CFG_STACK_KERNEL);
	CHECK_INTEQ(c->cfg_peers[0].cp_stack_addr, inet_addr("10.2.2.2"));
	CHECK_INTEQ(c->cfg_peers[0].cp_pos.pos_line, 10);
	CHECK_INTEQ(c->cfg_peers[0].cp_pos.pos_col, 5);
	CHECK_INTEQ(c->cfg_peers[1].cp_stack, CFG_STACK_LWIP);
	CHECK(addr_eq4(&c->cfg_peers[1].cp_server.ep_addr,
	    inet_addr("10.2.3.1")));
	CHECK_INTEQ(cfg_peer_by_id(c, "n3"), 1);
	CHECK_INTEQ(cfg_peer_by_id(c, "n1"), -1);

	CHECK_INTEQ(c->cfg_nservices, 2);
	s = &c->cfg_services[0];
	CHECK_STREQ(s->cs_name, "web");
	/* No handshake of its own: handoff.handshake's. */
	CHECK_INTEQ(s->cs_handshake, CFG_HS_COOKIE);
	CHECK_INTEQ(c->cfg_services[1].cs_handshake, CFG_HS_LWIP);
	CHECK_INTEQ(s->cs_pool_idx, 0);
	CHECK_INTEQ(c->cfg_services[1].cs_pool_idx, 1);
	CHECK_INTEQ(s->cs_nrules, 3);
	r = &s->cs_rules[0];
	CHECK_STREQ(r->cr_host, "*.example.com");
	CHECK_STREQ(r->cr_path_prefix, "/static/");
	CHECK(r->cr_path_regex == NULL && !r->cr_has_regex);
	CHECK_INTEQ(r->cr_pool_idx, 1);
	CHECK_INTEQ(r->cr_pos.pos_line, 21);
	r = &s->cs_rules[1];
	CHECK_STREQ(r->cr_path_regex, "\\.(png|jpg)$");
	CHECK(r->cr_has_regex);
	CHECK(regexec(&r->cr_regex, "/img/a.png", 0, NULL, 0) == 0);
	CHECK(regexec(&r->cr_regex, "/img/a.pngx", 0, NULL, 0) != 0);
	CHECK_STREQ(r->cr_method, "GET");
	r = &s->cs_rules[2];
	CHECK_STREQ(r->cr_header, "X-Tenant");
	CHECK_STREQ(r->cr_header_value, "blue green");
	CHECK_INTEQ(r->cr_pool_idx, 0);

	CHECK_INTEQ(c->cfg_npools, 2);
	p = &c->cfg_pools[0];
	CHECK_INTEQ(p->cp_policy, CFG_POLICY_LARD);
	CHECK_INTEQ(p->cp_hash_key, CFG_HASH_HEADER);
	CHECK_STREQ(p->cp_hash_header, "X-User");
	CHECK_INTEQ(p->cp_lard_low, 10);
	CHECK_INTEQ(p->cp_lard_high, 20);
	CHECK_INTEQ(p->cp_fail_threshold, 5);
	CHECK_STREQ(p->cp_check_path, "/health");
	CHECK_INTEQ(p->cp_check_interval_ms, 500);
	CHECK_INTEQ(p->cp_nmembers, 3);
	/* "- n1" is "- {node: n1}", with the default weight. */
	CHECK_STREQ(p->cp_members[0].cm_node, "n1");
	CHECK_INTEQ(p->cp_members[0].cm_peer, -1);
	CHECK_INTEQ(p->cp_members[0].cm_weight, 1);
	CHECK_INTEQ(p->cp_members[0].cm_pos.pos_line, 44);
	CHECK_INTEQ(p->cp_members[0].cm_pos.pos_col, 9);
	CHECK_INTEQ(p->cp_members[1].cm_peer, 0);
	CHECK_INTEQ(p->cp_members[1].cm_weight, 3);
	CHECK_INTEQ(p->cp_members[2].cm_peer, 1);
	p = &c->cfg_pools[1];
	CHECK_INTEQ(p->cp_policy, CFG_POLICY_HASH);
	CHECK_INTEQ(p->cp_hash_key, CFG_HASH_HOST);
	CHECK_STREQ(p->cp_hash_header, "");
	CHECK_INTEQ(p->cp_lard_low, 25);
	CHECK_INTEQ(p->cp_lard_high, 65);
	CHECK_INTEQ(p->cp_fail_threshold, 3);
	CHECK_STREQ(p->cp_check_path, "");
	CHECK_INTEQ(p->cp_check_interval_ms, 2000);
	CHECK_INTEQ(p->cp_members[0].cm_peer, 1);

	CHECK_INTEQ(c->cfg_handoff.ch_handshake, CFG_HS_COOKIE);
	CHECK_INTEQ(c->cfg_handoff.ch_stack, CFG_STACK_KERNEL);
	CHECK_INTEQ(c->cfg_handoff.ch_timeout_ms, 2000);
	CHECK_INTEQ(c->cfg_handoff.ch_inject_retry_ms, 50);
	CHECK_INTEQ(c->cfg_handoff.ch_request_head_max, 16384);
	CHECK_INTEQ(c->cfg_handoff.ch_request_buffer_max, 1024 * 1024);
	CHECK_INTEQ(c->cfg_handoff.ch_queue_max, 128);
	CHECK_INTEQ(c->cfg_handoff.ch_linger_ms, 60000);
	CHECK_INTEQ(c->cfg_handoff.ch_idle_ms, 3600000);
	CHECK_INTEQ(c->cfg_handoff.ch_max_flows, 1000);
	CHECK_INTEQ(c->cfg_handoff.ch_window_scale, 0);
	CHECK_INTEQ(c->cfg_handoff.ch_mss, 1400);
	CHECK_INTEQ(c->cfg_control.cc_heartbeat_ms, 500);
	CHECK_INTEQ(c->cfg_control.cc_dead_ms, 3000);
	CHECK_INTEQ(c->cfg_control.cc_reconnect_min_ms, 50);
	CHECK_INTEQ(c->cfg_control.cc_reconnect_max_ms, 10000);
	CHECK_INTEQ(c->cfg_control.cc_frame_max, 2 * 1024 * 1024);
	CHECK_INTEQ(c->cfg_control.cc_handshake_ms, 2000);
	CHECK_INTEQ(c->cfg_control.cc_handshake_max, 100);
	CHECK_INTEQ(c->cfg_control.cc_handshake_per_addr, 8);

	CHECK_STREQ(cfg_stack_name(CFG_STACK_KERNEL), "kernel");
	CHECK_STREQ(cfg_handshake_name(CFG_HS_COOKIE), "cookie");
	CHECK_STREQ(cfg_policy_name(CFG_POLICY_LEAST_CONN), "least-conn");
	CHECK_STREQ(cfg_policy_name((enum cfg_policy)42), "unknown");
	cfg_free(c);
}

/* y parsed, which must succeed (the error printed if not). */
static struct cfg *
parse_ok(const char *y)
{
	struct cfg	*c;
	char		 err[512];

	if ((c = cfg_parse(name, y, strlen(y), err, sizeof(err))) == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	return c;
}

/* A configuration with peers named by ids (n2, n3, ...), a service and a
 * pool of them all (as many as a pool takes). */
static struct cfg *
peers_cfg(const char *const *ids, int n, const char *extra)
{
	char		 y[16384], err[512];
	size_t		 len;
	struct cfg	*c;
	int		 i;

	len = (size_t)snprintf(y, sizeof(y), "%s%speers:\n", NODE, extra);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(y + len, sizeof(y) - len,
		    "  - {id: %s, control: 10.1.%d.2:7100, stack_address: "
		    "10.2.%d.2, server: 10.2.%d.1:80}\n", ids[i], i + 2, i + 2,
		    i + 2);
	len += (size_t)snprintf(y + len, sizeof(y) - len, "services:\n"
	    "  - {name: web, listen: 10.9.0.1:80, pool: all}\npools:\n"
	    "  - name: all\n    members: [n1");
	for (i = 0; i < n && i < CFG_MAX_MEMBERS - 1; i++)
		len += (size_t)snprintf(y + len, sizeof(y) - len, ", %s",
		    ids[i]);
	snprintf(y + len, sizeof(y) - len, "]\n" LWIP CTL);
	if ((c = cfg_parse(name, y, strlen(y), err, sizeof(err))) == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	return c;
}

/*
 * A reload's peers keep their places: a removed one stays, retired, a new
 * one takes the next place never used, one that comes back its old place;
 * pool members follow by id.  Places never named twice run out at
 * CFG_MAX_PEERS.  And what cannot change while running is named.
 */
static void
test_reload(void)
{
	static const char *const a[] = { "n2", "n3" };
	static const char *const b[] = { "n3", "n4" };
	static const char *const c3[] = { "n4", "n2" };
	char		 err[512], ids[CFG_MAX_PEERS][8];
	const char	*many[CFG_MAX_PEERS];
	struct cfg	*o, *c;
	int		 i;

	o = peers_cfg(a, 2, "");
	c = peers_cfg(b, 2, "");
	CHECK_INTEQ(cfg_keep_peers(c, o, err, sizeof(err)), 0);
	CHECK_INTEQ(c->cfg_npeers, 3);
	CHECK_STREQ(c->cfg_peers[0].cp_id, "n2");
	CHECK_INTEQ(c->cfg_peers[0].cp_retired, 1);
	CHECK_STREQ(c->cfg_peers[1].cp_id, "n3");
	CHECK_INTEQ(c->cfg_peers[1].cp_retired, 0);
	CHECK(addr_eq4(&c->cfg_peers[1].cp_control.ep_addr,
	    inet_addr("10.1.2.2")));
	CHECK_STREQ(c->cfg_peers[2].cp_id, "n4");
	CHECK_INTEQ(cfg_peer_by_id(c, "n2"), -1);
	CHECK_INTEQ(cfg_peer_by_id(c, "n3"), 1);
	CHECK_INTEQ(c->cfg_pools[0].cp_members[0].cm_peer, -1);	/* n1 */
	CHECK_INTEQ(c->cfg_pools[0].cp_members[1].cm_peer, 1);
	CHECK_INTEQ(c->cfg_pools[0].cp_members[2].cm_peer, 2);
	cfg_free(o);
	o = c;
	c = peers_cfg(c3, 2, "");
	CHECK_INTEQ(cfg_keep_peers(c, o, err, sizeof(err)), 0);
	CHECK_INTEQ(c->cfg_npeers, 3);
	CHECK_INTEQ(cfg_peer_by_id(c, "n2"), 0);	/* back in its place */
	CHECK_INTEQ(c->cfg_peers[1].cp_retired, 1);	/* n3 */
	CHECK_INTEQ(cfg_peer_by_id(c, "n4"), 2);
	CHECK_INTEQ(c->cfg_pools[0].cp_members[1].cm_peer, 2);
	CHECK_INTEQ(c->cfg_pools[0].cp_members[2].cm_peer, 0);
	cfg_free(o);
	cfg_free(c);

	for (i = 0; i < CFG_MAX_PEERS; i++) {
		snprintf(ids[i], sizeof(ids[i]), "m%d", i);
		many[i] = ids[i];
	}
	o = peers_cfg(many, CFG_MAX_PEERS, "");
	c = peers_cfg(a, 1, "");
	CHECK_INTEQ(cfg_keep_peers(c, o, err, sizeof(err)), -1);
	CHECK(strstr(err, "peer n2: no place left") != NULL);
	cfg_free(c);

	c = peers_cfg(a, 2, "");
	CHECK_INTEQ(cfg_fixed_changes(o, c, err, sizeof(err)), 0);
	CHECK_STREQ(err, "");
	cfg_free(c);
	c = peers_cfg(a, 2, "  status_file: /tmp/s\n  access_log: syslog\n");
	c->cfg_tun.ct_mtu = 9000;
	c->cfg_handoff.ch_max_flows = 10;
	c->cfg_handoff.ch_timeout_ms = 1;	/* a timer: may change */
	CHECK_INTEQ(cfg_fixed_changes(o, c, err, sizeof(err)), 4);
	CHECK_STREQ(err, "node.status_file, node.access_log, tun, "
	    "handoff.max_flows");
	cfg_free(c);
	/* Each key by its own name. */
	c = peers_cfg(a, 2, "  access_log_facility: local3\n");
	CHECK_INTEQ(cfg_fixed_changes(o, c, err, sizeof(err)), 1);
	CHECK_STREQ(err, "node.access_log_facility");
	cfg_free(c);
	cfg_free(o);

	/* node.servers: the same map in another order is no change; another
	 * server for a port, or a port more, is. */
#define SRV(l)	"  servers: [" l "]\n"
	o = peers_cfg(a, 2, SRV("{port: 443, server: 10.2.1.1:443}, "
	    "{port: 8080, server: 10.2.1.1:8080}"));
	c = peers_cfg(a, 2, SRV("{port: 8080, server: 10.2.1.1:8080}, "
	    "{port: 443, server: 10.2.1.1:443}"));
	CHECK_INTEQ(cfg_fixed_changes(o, c, err, sizeof(err)), 0);
	cfg_free(c);
	c = peers_cfg(a, 2, SRV("{port: 443, server: 10.2.1.1:444}, "
	    "{port: 8080, server: 10.2.1.1:8080}"));
	CHECK_INTEQ(cfg_fixed_changes(o, c, err, sizeof(err)), 1);
	CHECK_STREQ(err, "node.servers");
	cfg_free(c);
	c = peers_cfg(a, 2, SRV("{port: 443, server: 10.2.1.1:443}"));
	CHECK_INTEQ(cfg_fixed_changes(o, c, err, sizeof(err)), 1);
	CHECK_STREQ(err, "node.servers");
	cfg_free(c);
	c = peers_cfg(a, 2, "");
	CHECK_INTEQ(cfg_fixed_changes(o, c, err, sizeof(err)), 1);
	cfg_free(c);
#undef SRV
	cfg_free(o);
}

/* node.access_log: a file from the configuration's directory, syslog,
 * or a syslog socket; the facility by name. */
static void
test_access_log(void)
{
	static const struct {
		const char	*yaml;
		const char	*want;		/* NULL: relative to tmpdir */
		int		 facility;
	} t[] = {
		{ NODE LWIP CTL, "", 0 },
		{ NODE "  access_log: syslog\n" LWIP CTL, "syslog", 0 },
		{ NODE "  access_log: syslog:/run/log.sock\n"
		  "  access_log_facility: daemon\n" LWIP CTL,
		  "syslog:/run/log.sock", 8 },
		{ NODE "  access_log: /var/log/h.log\n"
		  "  access_log_facility: local7\n" LWIP CTL,
		  "/var/log/h.log", 7 },
		{ NODE "  access_log: log/access.log\n" LWIP CTL, NULL, 0 },
	};
	struct cfg	*c;
	char		 err[512], want[1200];
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		c = cfg_parse(name, t[i].yaml, strlen(t[i].yaml), err,
		    sizeof(err));
		if (c == NULL)
			fprintf(stderr, "%s\n", err);
		CHECK(c != NULL);
		if (t[i].want == NULL)
			snprintf(want, sizeof(want), "%s/log/access.log", tmpdir);
		else
			snprintf(want, sizeof(want), "%s", t[i].want);
		CHECK_STREQ(c->cfg_node.cn_access_log, want);
		CHECK_INTEQ(c->cfg_node.cn_access_log_facility, t[i].facility);
		cfg_free(c);
	}
}

/* handoff.proxy_protocol's versions; checks of peers only, and a kernel
 * stack with the header off, are fine. */
static void
test_proxy_protocol(void)
{
	static const char *const y[] = {
	    BASE "handoff:\n  proxy_protocol: v1\n",
	    BASE "handoff:\n  proxy_protocol: v2\n",
	    BASE PEER "pools:\n  - name: all\n    members: [n2]\n"
	    "    check_path: /health\nservices:\n  - name: web\n"
	    "    listen: 10.9.0.1:80\n    pool: all\n"
	    "handoff:\n  proxy_protocol: v2\n",
	    BASE POOL "    check_path: /health\n"
	    "handoff:\n  stack: kernel\n  proxy_protocol: off\n",
	};
	static const enum cfg_proxy_protocol want[] = {
	    CFG_PP_V1, CFG_PP_V2, CFG_PP_V2, CFG_PP_OFF,
	};
	struct cfg	*c;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < nitems(y); i++) {
		c = cfg_parse(name, y[i], strlen(y[i]), err, sizeof(err));
		if (c == NULL)
			fprintf(stderr, "%s\n", err);
		CHECK(c != NULL);
		CHECK_INTEQ(c->cfg_handoff.ch_proxy_protocol, want[i]);
		cfg_free(c);
	}
}

/*
 * A key others may read or write is refused, on the mode of the file the
 * loader opened, unless key_file_insecure_ok says so.
 */
static void
test_key_modes(const char *path)
{
	static const struct {
		mode_t	 mode;
		int	 ok;		/* accepted without the override */
	} modes[] = {
		{ 0600, 1 }, { 0400, 1 }, { 0644, 0 }, { 0640, 0 },
		{ 0604, 0 }, { 0620, 0 }, { 0602, 0 }, { 0610, 0 },
	};
	char		 y[512], ok[600], err[512], want[512];
	struct cfg	*c;
	FILE		*f;
	size_t		 i;

	snprintf(y, sizeof(y), NODE LWIP "control:\n  key_file: %s\n", path);
	snprintf(ok, sizeof(ok), "%s  key_file_insecure_ok: true\n", y);
	CHECK((f = fopen(path, "w")) != NULL);
	fputs("0123456789abcdef\n", f);
	CHECK(fclose(f) == 0);
	for (i = 0; i < nitems(modes); i++) {
		CHECK(chmod(path, modes[i].mode) == 0);
		c = cfg_parse("t.yaml", y, strlen(y), err, sizeof(err));
		CHECK((c != NULL) == modes[i].ok);
		cfg_free(c);
		if (!modes[i].ok) {
			snprintf(want, sizeof(want), "t.yaml:8:13: control."
			    "key_file: \"%s\" is open to group or others "
			    "(mode %04o): chmod 600 %s", path,
			    (unsigned int)modes[i].mode, path);
			CHECK_STREQ(err, want);
		}
		c = cfg_parse("t.yaml", ok, strlen(ok), err, sizeof(err));
		CHECK(c != NULL);
		CHECK_INTEQ(c->cfg_control.cc_key_insecure_ok, 1);
		CHECK_INTEQ(c->cfg_control.cc_keylen, 16);
		cfg_free(c);
	}
	CHECK(chmod(path, 0600) == 0);
}

/* Key files: line endings, length limits, absolute paths. */
static void
test_key_files(void)
{
	static const struct {
		const char	*data;
		size_t		 len;	/* of the key, -1: refused */
	} keys[] = {
		{ "0123456789abcdef\r\n", 16 },
		{ "0123456789abcdef\n\n", 17 },	/* one ending only */
		{ "0123456789abcde\n", (size_t)-1 },
		{ "0123456789abcdef", 16 },
	};
	char		 path[] = "/tmp/test_conf.XXXXXX", y[512], err[512];
	char		 big[CFG_KEY_MAX + 2];
	struct cfg	*c;
	size_t		 i;
	FILE		*f;
	int		 fd;

	CHECK((fd = mkstemp(path)) != -1);
	close(fd);
	snprintf(y, sizeof(y), NODE LWIP "control:\n  key_file: %s\n", path);
	for (i = 0; i <= nitems(keys); i++) {
		CHECK((f = fopen(path, "w")) != NULL);
		if (i < nitems(keys))
			fputs(keys[i].data, f);
		else {
			/* One byte too many, with its line ending. */
			memset(big, 'k', sizeof(big));
			big[sizeof(big) - 1] = '\n';
			fwrite(big, 1, sizeof(big), f);
		}
		fclose(f);
		c = cfg_parse("t.yaml", y, strlen(y), err, sizeof(err));
		if (i < nitems(keys) && keys[i].len != (size_t)-1) {
			CHECK(c != NULL);
			CHECK_INTEQ(c->cfg_control.cc_keylen, keys[i].len);
			CHECK(memcmp(c->cfg_control.cc_key, keys[i].data,
			    keys[i].len) == 0);
			CHECK_STREQ(c->cfg_control.cc_key_file, path);
			cfg_free(c);
		} else {
			CHECK(c == NULL);
			CHECK(strncmp(err, "t.yaml:8:13: control.key_file: ",
			    31) == 0);
		}
	}
	CHECK(strstr(err, "is longer than 256 bytes") != NULL);
	test_key_modes(path);
	unlink(path);
}

/* A state file that is the configuration file, named from another
 * directory than the one -c named it from, is refused too. */
static void
test_load_state_self(void)
{
	static const char y[] = NODE "  state_file: self.yaml\n" LWIP CTL;
	char		 path[1200], err[512], cwd[1200];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/self.yaml", tmpdir);
	CHECK((fp = fopen(path, "w")) != NULL);
	CHECK(fputs(y, fp) != EOF);
	CHECK(fclose(fp) == 0);
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(chdir(tmpdir) == 0);
	CHECK(cfg_load("self.yaml", err, sizeof(err)) == NULL);
	CHECK(chdir(cwd) == 0);
	CHECK(strstr(err, "self.yaml:5:15: node.state_file: is the "
	    "configuration file too") != NULL);
	CHECK(unlink(path) == 0);
}

/* cfg_load(): the file's own errors, and relative paths made absolute. */
static void
test_load(void)
{
	char		 path[1200], err[512], *real;
	struct cfg	*c;

	CHECK(cfg_load("/nonexistent/handoffd.yaml", err, sizeof(err)) ==
	    NULL);
	CHECK_STREQ(err, "/nonexistent/handoffd.yaml: No such file or "
	    "directory");
	snprintf(path, sizeof(path), "%s/data", srcdir);
	CHECK(cfg_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "Is a directory") != NULL);
	/* A FIFO is refused at once, not read (its open would wait). */
	snprintf(path, sizeof(path), "%s/fifo.yaml", tmpdir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(cfg_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "fifo.yaml: not a regular file") != NULL);
	CHECK(unlink(path) == 0);
	CHECK(cfg_load("/dev/null", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a regular file") != NULL);
	snprintf(path, sizeof(path), "%s/good.yaml", tmpdir);
	c = cfg_load(path, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	CHECK(c != NULL);
	CHECK((real = realpath(tmpdir, NULL)) != NULL);
	snprintf(path, sizeof(path), "%s/test.key", real);
	CHECK_STREQ(c->cfg_control.cc_key_file, path);
	CHECK_INTEQ(c->cfg_control.cc_keylen, 32);
	cfg_free(c);
	free(real);
	snprintf(path, sizeof(path), "%s/data/bad.yaml", srcdir);
	CHECK(cfg_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "bad.yaml:") != NULL);
	CHECK(strchr(err, '\n') == NULL);
	/* A short buffer gets a cut message, never an overflow. */
	CHECK(cfg_load(path, err, 8) == NULL);
	CHECK_INTEQ(strlen(err), 7);
	CHECK(cfg_load(path, NULL, 0) == NULL);
	test_load_state_self();
}

/*
 * node.user and node.group become ids at load: the user's primary group
 * unless a group is named.  Needs a "nobody" user, as Linux and the BSDs
 * have; root's group is found by its gid (root or wheel).
 */
static void
test_user(void)
{
	struct passwd	*pw;
	struct group	*gr;
	struct cfg	*c;
	char		 y[1024], err[512], grname[64];

	if ((pw = getpwnam("nobody")) == NULL || pw->pw_uid == 0 ||
	    pw->pw_gid == 0 || (gr = getgrgid(pw->pw_gid)) == NULL) {
		printf("test_conf: no user nobody, user checks skipped\n");
		return;
	}
	snprintf(grname, sizeof(grname), "%s", gr->gr_name);
	snprintf(y, sizeof(y), NODE "  user: nobody\n" LWIP CTL);
	CHECK((c = cfg_parse(name, y, strlen(y), err, sizeof(err))) != NULL);
	CHECK_STREQ(c->cfg_node.cn_user, "nobody");
	CHECK_INTEQ(c->cfg_node.cn_uid, pw->pw_uid);
	CHECK_INTEQ(c->cfg_node.cn_gid, pw->pw_gid);
	cfg_free(c);
	snprintf(y, sizeof(y), NODE "  user: nobody\n  group: %s\n" LWIP CTL,
	    grname);
	CHECK((c = cfg_parse(name, y, strlen(y), err, sizeof(err))) != NULL);
	CHECK_STREQ(c->cfg_node.cn_group, grname);
	CHECK_INTEQ(c->cfg_node.cn_gid, pw->pw_gid);
	cfg_free(c);
	snprintf(y, sizeof(y), NODE "  user: nobody\n  group: no-such-group-"
	    "hd\n" LWIP CTL);
	CHECK(cfg_parse("t.yaml", y, strlen(y), err, sizeof(err)) == NULL);
	CHECK_STREQ(err, "t.yaml:6:10: node.group: unknown group "
	    "\"no-such-group-hd\"");
	CHECK((gr = getgrgid(0)) != NULL);
	snprintf(y, sizeof(y), NODE "  user: nobody\n  group: %s\n" LWIP CTL,
	    gr->gr_name);
	CHECK(cfg_parse("t.yaml", y, strlen(y), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "t.yaml:6:10: node.group: ") == err);
	CHECK(strstr(err, "is root's group (gid 0)") != NULL);
}

/*
 * Every shipped config parses.  Their key_file points to where a real
 * installation keeps its key (/etc/handoffd/...); if that one error is
 * all there is, the file is parsed again with the test key substituted on
 * the same line, so positions and everything else are still checked.
 */
static void
test_shipped(void)
{
	static const char *const pats[] = { "conf/*.yaml", "conf/demo/*.yaml" };
	char		 pat[1200], err[512], key[1200], *buf, *line, *eol;
	struct cfg	*c;
	glob_t		 g;
	size_t		 i, j, len, n = 0;
	FILE		*f;

	snprintf(key, sizeof(key), "%s/test.key", tmpdir);
	for (i = 0; i < nitems(pats); i++) {
		snprintf(pat, sizeof(pat), "%s/../%s", srcdir, pats[i]);
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (j = 0; j < g.gl_pathc; j++, n++) {
			c = cfg_load(g.gl_pathv[j], err, sizeof(err));
			if (c == NULL && strstr(err, ": control.key_file: ")) {
				CHECK((f = fopen(g.gl_pathv[j], "r")) != NULL);
				CHECK((buf = calloc(1, 1 << 20)) != NULL);
				len = fread(buf, 1, (1 << 20) - 2048, f);
				fclose(f);
				CHECK((line = strstr(buf, "key_file:")) != NULL);
				eol = line + strcspn(line, "\n");
				memmove(line + 10 + strlen(key), eol,
				    strlen(eol) + 1);
				memcpy(line + 10, key, strlen(key));
				len = strlen(buf);
				c = cfg_parse(g.gl_pathv[j], buf, len, err,
				    sizeof(err));
				free(buf);
			}
			if (c == NULL)
				fprintf(stderr, "%s\n", err);
			CHECK(c != NULL);
			cfg_free(c);
		}
		globfree(&g);
	}
	printf("test_conf: %zu shipped configs parsed\n", n);
}

/* Removes tmpdir and its copies, however the test ends. */
static void
tmpdir_remove(void)
{
	char	 path[1200];
	size_t	 i;

	for (i = 0; i < nitems(copies); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, copies[i].file);
		unlink(path);
	}
	rmdir(tmpdir);
}

/* Fills tmpdir with copies of tests/data's files, in their modes. */
static void
tmpdir_fill(void)
{
	char	 src[1200], dst[1200], buf[4096];
	FILE	*in, *out;
	size_t	 i, n;

	CHECK(mkdtemp(tmpdir) != NULL);
	atexit(tmpdir_remove);
	for (i = 0; i < nitems(copies); i++) {
		snprintf(src, sizeof(src), "%s/data/%s", srcdir,
		    copies[i].file);
		snprintf(dst, sizeof(dst), "%s/%s", tmpdir, copies[i].file);
		CHECK((in = fopen(src, "r")) != NULL);
		CHECK((out = fopen(dst, "w")) != NULL);
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			CHECK(fwrite(buf, 1, n, out) == n);
		fclose(in);
		CHECK(fclose(out) == 0);
		CHECK(chmod(dst, copies[i].mode) == 0);
	}
}

/* What cfg_print() writes for key, or "ERROR" if it refuses the key. */
static char *
print_key(const struct cfg *c, const char *key)
{
	static char	*buf;
	size_t		 len;
	FILE		*fp;
	char		 err[256];
	int		 rc;

	free(buf);
	buf = NULL;
	CHECK((fp = open_memstream(&buf, &len)) != NULL);
	rc = cfg_print(c, key, fp, err, sizeof(err));
	CHECK(fclose(fp) == 0);
	if (rc == -1) {
		CHECK(strstr(err, "no such key") != NULL);
		CHECK_STREQ(buf, "");
		return "ERROR";
	}
	return buf;
}

/* A TLS service beside an HTTP one, and the web servers by VIP port. */
static void
test_tls(void)
{
	static const char y[] = "node:\n  id: n1\n  control: 10.1.1.1:7100\n"
	    "  server: 10.2.1.1:80\n  servers:\n"
	    "    - {port: 443, server: 10.2.1.1:8443}\n"
	    "    - port: 8080\n      server: 10.2.1.1:80\n"
	    LWIP CTL "pools:\n  - name: all\n    members: [n1]\n"
	    "  - name: shop\n    policy: hash\n    hash_key: host\n"
	    "    members: [n1]\n"
	    "services:\n  - name: web\n    listen: 10.9.0.1:80\n    pool: all\n"
	    "  - name: tls\n    listen: 10.9.0.1:443\n    protocol: tls\n"
	    "    pool: all\n    rules:\n"
	    "      - {sni: shop.example, alpn: h2, pool: shop}\n"
	    "      - {sni: \"*.Example.\", pool: all}\n"
	    "      - {alpn: acme-tls/1, pool: shop}\n"
	    "      - {sni: Shop.Example., pool: shop}\n"
	    "handoff:\n  stack: kernel\n";
	struct cfg		*c;
	const struct cfg_rule	*r;

	c = parse_ok(y);
	CHECK_INTEQ(c->cfg_node.cn_nservers, 2);
	CHECK_INTEQ(c->cfg_node.cn_servers[0].ps_port, 443);
	CHECK_INTEQ(c->cfg_node.cn_servers[1].ps_pos.pos_line, 7);
	CHECK(cfg_server_for(c, htons(443)) == &c->cfg_node.cn_servers[0].ps_server);
	CHECK_INTEQ(cfg_server_for(c, htons(443))->ep_port, htons(8443));
	CHECK_INTEQ(cfg_server_for(c, htons(8080))->ep_port, htons(80));
	CHECK(cfg_server_for(c, htons(80)) == &c->cfg_node.cn_server);
	CHECK(cfg_server_for(c, htons(444)) == &c->cfg_node.cn_server);
	CHECK_INTEQ(c->cfg_services[0].cs_protocol, CFG_PROTO_HTTP);
	CHECK_INTEQ(c->cfg_services[1].cs_protocol, CFG_PROTO_TLS);
	CHECK_INTEQ(c->cfg_services[1].cs_nrules, 4);
	r = &c->cfg_services[1].cs_rules[0];
	CHECK_STREQ(r->cr_sni, "shop.example");
	CHECK_STREQ(r->cr_alpn, "h2");
	CHECK_INTEQ(r->cr_pool_idx, 1);
	CHECK(c->cfg_services[1].cs_rules[1].cr_alpn == NULL);
	CHECK(c->cfg_services[1].cs_rules[2].cr_sni == NULL);
	CHECK_STREQ(print_key(c, "services[].protocol"), "http\ntls\n");
	/* Without their final dots: a ClientHello's name has none. */
	CHECK_STREQ(print_key(c, "services[1].rules[].sni"),
	    "shop.example\n*.Example\n\nShop.Example\n");
	CHECK_STREQ(print_key(c, "node.servers[].server"),
	    "10.2.1.1:8443\n10.2.1.1:80\n");
	cfg_free(c);
}

/* -p: values as the file writes them, defaults and resolved values too,
 * one line per value; "[]" walks a sequence. */
static void
test_print(void)
{
	static const char y[] = BASE PEER POOL
	    "    policy: hash\n"
	    "    hash_key: header:X-User\n"
	    "  - name: two\n    members: [n1, {node: n2, weight: 3}]\n"
	    "services:\n  - name: web\n    listen: 10.9.0.1:80\n"
	    "    pool: all\n  - name: www\n    listen: 10.9.0.2:8080\n"
	    "    pool: two\n    handshake: cookie\n"
	    "tun:\n  address: 10.2.1.1/24\n";
	struct cfg	*c;
	char		 err[512], text[512], key[1200];

	c = parse_ok(y);
	CHECK_STREQ(print_key(c, "node.id"), "n1\n");
	CHECK_STREQ(print_key(c, "node.user"), "\n");
	CHECK_STREQ(print_key(c, "node.admin_socket"),
	    "/run/handoffd/handoffd.sock\n");
	CHECK_STREQ(print_key(c, "tun.name"), "hoff0\n");
	CHECK_STREQ(print_key(c, "tun.address"), "10.2.1.1/24\n");
	CHECK_STREQ(print_key(c, "tun.table"), "100\n");
	CHECK_STREQ(print_key(c, "tun.offload"), "on\n");
	CHECK_STREQ(print_key(c, "lwip.loss_tolerance"), "auto\n");
	CHECK_STREQ(print_key(c, "metrics.listen"), "\n");
	CHECK_STREQ(print_key(c, "handoff.stack"), "lwip\n");
	CHECK_STREQ(print_key(c, "handoff.idle"), "5m\n");
	CHECK_STREQ(print_key(c, "handoff.request_head_max"), "8k\n");
	CHECK_STREQ(print_key(c, "handoff.proxy_protocol"), "off\n");
	CHECK_STREQ(print_key(c, "services[].listen"),
	    "10.9.0.1:80\n10.9.0.2:8080\n");
	CHECK_STREQ(print_key(c, "services[].handshake"), "lwip\ncookie\n");
	CHECK_STREQ(print_key(c, "services[1].name"), "www\n");
	/* Beyond the end, whatever the sequence could hold: nothing. */
	CHECK_STREQ(print_key(c, "services[5].name"), "");
	CHECK_STREQ(print_key(c, "services[32].listen"), "");
	CHECK_STREQ(print_key(c, "services[99999999999999999999].listen"), "");
	CHECK_STREQ(print_key(c, "pools[].members[].node"), "n1\nn1\nn2\n");
	CHECK_STREQ(print_key(c, "pools[1].members[].weight"), "1\n3\n");
	CHECK_STREQ(print_key(c, "pools[0].hash_key"), "header:X-User\n");
	CHECK_STREQ(print_key(c, "peers[].stack_address"), "10.2.2.2\n");
	snprintf(key, sizeof(key), "%s/test.key\n", tmpdir);
	CHECK_STREQ(print_key(c, "control.key_file"), key);
	/* Sections, unknown keys and bad syntax name no value. */
	CHECK_STREQ(print_key(c, "node"), "ERROR");
	CHECK_STREQ(print_key(c, "node.nope"), "ERROR");
	CHECK_STREQ(print_key(c, "services"), "ERROR");
	CHECK_STREQ(print_key(c, "services.listen"), "ERROR");
	CHECK_STREQ(print_key(c, "services[].nope"), "ERROR");
	CHECK_STREQ(print_key(c, "services[x].listen"), "ERROR");
	CHECK_STREQ(print_key(c, "services[0]listen"), "ERROR");
	CHECK_STREQ(print_key(c, "tun.name.x"), "ERROR");
	CHECK_STREQ(print_key(c, ""), "ERROR");
	CHECK_STREQ(print_key(c, ".name"), "ERROR");
	cfg_free(c);
	/* admin_socket: none turns the socket off. */
	snprintf(text, sizeof(text), "%s", "node:\n  id: n1\n"
	    "  control: 10.1.1.1:7100\n  server: 10.2.1.1:80\n"
	    "  admin_socket: none\n" LWIP CTL);
	c = cfg_parse(name, text, strlen(text), err, sizeof(err));
	CHECK(c != NULL);
	CHECK_STREQ(c->cfg_node.cn_admin_socket, "");
	CHECK_STREQ(print_key(c, "node.admin_socket"), "none\n");
	cfg_free(c);
}

/* IPv6 services beside IPv4 ones, on kernel stacks with cookies. */
static void
test_ipv6(void)
{
	static const char y[] = NODE "  server_address6: fd00:2:1::1\n"
	    LWIP CTL PEER "    stack: kernel\n    stack_address6: fd00:2:2::1\n"
	    POOL "services:\n  - name: web6\n    listen: \"[fd00:9::1]:443\"\n"
	    "    pool: all\n  - name: web\n    listen: 10.9.0.1:80\n"
	    "    pool: all\nhandoff:\n  stack: kernel\n  handshake: cookie\n";
	struct ipaddr	 a;
	struct cfg	*c;

	c = parse_ok(y);
	a = t_ip6("fd00:9::1");
	CHECK(addr_eq(&c->cfg_services[0].cs_vip.ep_addr, &a));
	CHECK_INTEQ(c->cfg_services[0].cs_vip.ep_port, htons(443));
	CHECK(addr_eq4(&c->cfg_services[1].cs_vip.ep_addr,
	    inet_addr("10.9.0.1")));
	a = t_ip6("fd00:2:1::1");
	CHECK(addr_eq(&c->cfg_node.cn_server6, &a));
	a = t_ip6("fd00:2:2::1");
	CHECK(addr_eq(&c->cfg_peers[0].cp_stack_addr6, &a));
	CHECK_INTEQ(cfg_service_at(c, &c->cfg_services[0].cs_vip.ep_addr,
	    htons(443)), 0);
	CHECK_INTEQ(cfg_service_at(c, &a, htons(443)), -1);
	CHECK_STREQ(print_key(c, "services[0].listen"), "[fd00:9::1]:443\n");
	CHECK_STREQ(print_key(c, "node.server_address6"), "fd00:2:1::1\n");
	CHECK_STREQ(print_key(c, "peers[0].stack_address6"), "fd00:2:2::1\n");
	cfg_free(c);
}

/* The same on lwIP stacks, with lwIP's handshake. */
static void
test_ipv6_lwip(void)
{
	static const char y[] = NODE LWIP "  address6: fd00:2:1::2\n" CTL
	    PEER "    stack_address6: fd00:2:2::2\n" POOL
	    "services:\n  - name: web6\n    listen: \"[fd00:9::1]:80\"\n"
	    "    pool: all\n";
	struct ipaddr	 a;
	struct cfg	*c;

	c = parse_ok(y);
	a = t_ip6("fd00:2:1::2");
	CHECK(addr_eq(&c->cfg_lwip.cl_addr6, &a));
	CHECK(addr_is_none(&c->cfg_node.cn_server6));
	CHECK_INTEQ(c->cfg_services[0].cs_handshake, CFG_HS_LWIP);
	CHECK_STREQ(print_key(c, "lwip.address6"), "fd00:2:1::2\n");
	cfg_free(c);
}

/* lwip.loss_tolerance: whole percents, kept as 1 + the percent. */
static void
test_loss_tolerance(void)
{
	struct cfg	*c;

	c = parse_ok(NODE LWIP "  loss_tolerance: 0\n" CTL);
	CHECK_INTEQ(c->cfg_lwip.cl_loss_tol, 1);
	CHECK_STREQ(print_key(c, "lwip.loss_tolerance"), "0\n");
	cfg_free(c);
	c = parse_ok(NODE LWIP "  loss_tolerance: 2\n" CTL);
	CHECK_INTEQ(c->cfg_lwip.cl_loss_tol, 3);
	cfg_free(c);
	c = parse_ok(NODE LWIP "  loss_tolerance: auto\n" CTL);
	CHECK_INTEQ(c->cfg_lwip.cl_loss_tol, CFG_LOSS_AUTO);
	cfg_free(c);
}

int
main(void)
{
	const char	*env = getenv("TESTS_SRCDIR");
	size_t		 i;

	t_start(30);
	snprintf(srcdir, sizeof(srcdir), "%s", env && *env ? env : "../tests");
	tmpdir_fill();
	snprintf(name, sizeof(name), "%s/t.yaml", tmpdir);
	for (i = 0; i < nitems(bad); i++)
		check_bad(&bad[i], i);
	test_ipv6_lwip();
	test_loss_tolerance();
	test_too_many();
	test_defaults();
	test_ipv6();
	test_full();
	test_print();
	test_proxy_protocol();
	test_access_log();
	test_reload();
	test_tls();
	test_key_files();
	test_load();
	test_user();
	test_shipped();
	return t_done("test_conf");
}
