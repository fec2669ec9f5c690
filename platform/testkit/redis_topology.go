package testkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// SentinelMaster is the master name RedisSentinel's sentinel monitors.
const SentinelMaster = "fitloop"

// RedisCluster returns the addresses of a new Redis Cluster of three masters
// (no replicas) that every node reports healthy (cluster_state:ok).
func RedisCluster(tb testing.TB) []string {
	tb.Helper()
	addrs := make([]string, 3)
	for i := range addrs {
		addrs[i] = startRedis(tb, append(dataArgs(tb.TempDir()),
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")...)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		unavailable(tb, "redis-cli not found on PATH: install it (Debian: apt-get install redis-tools)")
		return nil
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if err := runCmd(append([]string{cli}, args...)); err != nil {
		tb.Fatalf("testkit: create redis cluster: %v", err)
	}
	// The first node says ok before the others; until they agree, writes to
	// them answer CLUSTERDOWN.
	for _, addr := range addrs {
		waitInfo(tb, addr, "cluster info", func(c *goredis.Client, ctx context.Context) (string, error) {
			return c.ClusterInfo(ctx).Result()
		}, "cluster_state:ok")
	}
	return addrs
}

// RedisSentinel starts a master, one replica of it and one sentinel
// monitoring them as SentinelMaster (quorum 1, down after 1 s). It returns the
// sentinel addresses, the master name and kill, which SIGKILLs the current
// master so the sentinel promotes the replica.
func RedisSentinel(tb testing.TB) (sentinels []string, master string, kill func()) {
	tb.Helper()
	masterAddr := Redis(tb)
	host, port := splitAddr(masterAddr)
	replica := startRedis(tb, append(dataArgs(tb.TempDir()), "--replicaof", host, port)...)
	waitInfo(tb, replica, "replication link", func(c *goredis.Client, ctx context.Context) (string, error) {
		return c.Info(ctx, "replication").Result()
	}, "master_link_status:up")

	dir := tb.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 1\nsentinel down-after-milliseconds %[1]s 1000\n"+
		"sentinel failover-timeout %[1]s 5000\n", SentinelMaster, host, port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		tb.Fatalf("testkit: sentinel config: %v", err)
	}
	sentinel := startRedis(tb, conf, "--sentinel", "--dir", dir)
	// Failover needs a replica the sentinel knows; it learns them from the
	// master's INFO.
	waitInfo(tb, sentinel, "sentinel replicas", func(c *goredis.Client, ctx context.Context) (string, error) {
		r, err := c.Do(ctx, "SENTINEL", "REPLICAS", SentinelMaster).Slice()
		return fmt.Sprint(r), err
	}, replicaPort(replica))
	return []string{sentinel}, SentinelMaster, func() { KillRedis(tb, masterAddr) }
}

// waitInfo polls addr with query until its answer contains want.
func waitInfo(tb testing.TB, addr, what string,
	query func(*goredis.Client, context.Context) (string, error), want string) {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		out, err := query(c, ctx)
		cancel()
		if err == nil && strings.Contains(out, want) {
			return
		}
		last = fmt.Sprint(out, err)
		time.Sleep(50 * time.Millisecond) // polling an external process; there is no event to wait on
	}
	tb.Fatalf("testkit: redis %s: %s never showed %q; last answer: %s", addr, what, want, last)
}

func splitAddr(addr string) (host, port string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// replicaPort is how SENTINEL REPLICAS shows a replica's port.
func replicaPort(addr string) string {
	_, port := splitAddr(addr)
	return port
}
