package walletredis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/resayil/portal/pkg/resayil"
)

// KeySpace is the part of every key between Config.Prefix and the entity.
const KeySpace = "resayil:wallet:"

// DefaultShards is the number of hash tags (and usage streams) accounts are
// spread over when Config.Shards is zero.
const DefaultShards = 16

// Keys names the Redis keys of the wallet. It is exported so that the usage
// writer, operators' tools and tests name exactly the keys the scripts use.
//
// Every key of one account carries the same hash tag {w<shard>}, with shard
// = account mod Shards, so each script touches a single Redis Cluster slot.
// The tag is a shard rather than the account id because Settle also appends
// to a usage stream in the same script, and the usage writer must be able to
// list every stream: one per shard, a fixed, known set.
type Keys struct {
	base   string
	shards uint64
}

// NewKeys returns the key names under prefix with the given shard count
// (DefaultShards when zero). The prefix must not contain braces: the first
// {...} of a key is its hash tag.
func NewKeys(prefix string, shards int) (Keys, error) {
	if strings.ContainsAny(prefix, "{}") {
		return Keys{}, fmt.Errorf("walletredis: key prefix %q must not contain braces", prefix)
	}
	if shards == 0 {
		shards = DefaultShards
	}
	if shards < 0 || shards > 16384 {
		return Keys{}, fmt.Errorf("walletredis: %d shards, want 1 to 16384", shards)
	}
	return Keys{base: prefix + KeySpace, shards: uint64(shards)}, nil
}

// Shards returns the number of shards.
func (k Keys) Shards() int { return int(k.shards) }

// Shard returns the account's shard.
func (k Keys) Shard(acct resayil.AccountID) int { return int(uint64(acct) % k.shards) }

func (k Keys) tag(shard int) string { return "{w" + strconv.Itoa(shard) + "}" }

func (k Keys) accountKey(entity string, acct resayil.AccountID) string {
	return k.base + entity + ":" + k.tag(k.Shard(acct)) + ":" + strconv.FormatInt(int64(acct), 10)
}

// Account is the hash {balance, held, period, seq, xseq}: the live
// balance, the sum of its live holds, the credits of this period and its
// number, and the last period whose exhausted alert went out. No TTL: it
// is a balance.
func (k Keys) Account(acct resayil.AccountID) string { return k.accountKey("account", acct) }

// Holds is the hash request id → credits held.
func (k Keys) Holds(acct resayil.AccountID) string { return k.accountKey("holds", acct) }

// Leases is the sorted set request id → lease expiry (Unix milliseconds).
func (k Keys) Leases(acct resayil.AccountID) string { return k.accountKey("leases", acct) }

// Grants is the set of grant references applied to the live balance.
func (k Keys) Grants(acct resayil.AccountID) string { return k.accountKey("grants", acct) }

// Settled is the marker "charged:shortfall" of a settled request.
func (k Keys) Settled(acct resayil.AccountID, requestID string) string {
	return k.base + "settled:" + k.tag(k.Shard(acct)) + ":" + requestID
}

// UsageStream is the stream the account's usage events go to.
func (k Keys) UsageStream(acct resayil.AccountID) string { return k.Stream(k.Shard(acct)) }

// Stream is the usage stream of one shard.
func (k Keys) Stream(shard int) string { return k.base + "usage:" + k.tag(shard) }

// Streams lists every usage stream, for the usage writer's consumer group.
func (k Keys) Streams() []string {
	s := make([]string, k.shards)
	for i := range s {
		s[i] = k.Stream(i)
	}
	return s
}

// leasesPattern matches every Leases key, for ReclaimExpired's SCAN.
func (k Keys) leasesPattern() string { return k.base + "leases:*" }

// leasesAccount parses the account out of a Leases key; ok is false for a
// key this Keys would not have made (another shard count).
func (k Keys) leasesAccount(key string) (resayil.AccountID, bool) {
	i := strings.LastIndexByte(key, ':')
	if i < 0 {
		return 0, false
	}
	id, err := strconv.ParseInt(key[i+1:], 10, 64)
	if err != nil || k.Leases(resayil.AccountID(id)) != key {
		return 0, false
	}
	return resayil.AccountID(id), true
}
