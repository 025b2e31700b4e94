package basicaudit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/basicaudit/caddy-basicaudit/internal/integrity"
)

// IntegrityConfig makes the audit trail tamper-evident: every audit event
// carries `seq`, `chain` and `mac`, an HMAC over the previous event's mac
// and this event, so that `caddy basicaudit verify` finds any modified,
// inserted, deleted, reordered or truncated event.
type IntegrityConfig struct {
	// The secret that keys the chain. Keep it away from the logs: whoever
	// holds it can forge events from the current checkpoint on. Accepts
	// placeholders such as `{env.NAME}` and `{file./path}`. Required.
	Key string `json:"key,omitempty"`

	// How often the chain's key evolves one way and the chain's head is
	// stored in Caddy's storage. A key stolen now cannot forge events
	// sealed before the last checkpoint. Default: 10m.
	CheckpointInterval caddy.Duration `json:"checkpoint_interval,omitempty"`
}

const defaultCheckpointInterval = 10 * time.Minute

// Messages and names of the integrity events.
const (
	msgCheckpoint   = "audit checkpoint"
	msgChainStart   = "audit chain started"
	eventCheckpoint = "audit_checkpoint"
	eventChainStart = "audit_chain_start"
)

// auditChain is the chain of one integrity key in this process. It is
// kept in a usage pool so that a config reload continues it; it ends,
// storing its head, when the last handler using it is cleaned up.
type auditChain struct {
	mu    sync.Mutex
	chain *integrity.Chain
	enc   *sealEncoder // the fields of the event being sealed

	// The logger and storage of the most recently provisioned handler:
	// those of an older config may be closed after a reload.
	audit   atomic.Pointer[zap.Logger]
	schema  atomic.Value // string
	storage atomic.Pointer[certmagic.Storage]
	headKey string

	done chan struct{}
	wg   sync.WaitGroup
}

var chains = caddy.NewUsagePool()

// storedHead is a chain's head as kept in Caddy's storage.
type storedHead struct {
	Chain string `json:"chain"`
	Seq   uint64 `json:"seq"`
	MAC   string `json:"mac"`
}

// provisionIntegrity joins or starts the chain of the configured key.
func (a *AuditedBasicAuth) provisionIntegrity(ctx caddy.Context, repl *caddy.Replacer) error {
	ic := a.Integrity
	if ic == nil {
		return nil
	}
	key := repl.ReplaceKnown(ic.Key, "")
	if key == "" {
		return errors.New("integrity: key is required")
	}
	interval := durationOr(ic.CheckpointInterval, defaultCheckpointInterval)

	// The pool key must not reveal the secret; a digest names it.
	digest := sha256.Sum256([]byte("caddy-basicaudit integrity " + key))
	id := hex.EncodeToString(digest[:8])
	storage := contextStorage(ctx)

	val, _, err := chains.LoadOrNew("integrity:"+id, func() (caddy.Destructor, error) {
		chain, err := integrity.NewChain([]byte(key))
		if err != nil {
			return nil, err
		}
		c := &auditChain{
			chain:   chain,
			headKey: "basicaudit/integrity/" + id + ".json",
			done:    make(chan struct{}),
		}
		c.audit.Store(a.audit)
		c.schema.Store(a.schema)
		c.storage.Store(&storage)
		c.start(interval)
		return c, nil
	})
	if err != nil {
		return fmt.Errorf("integrity: %v", err)
	}
	a.chainKey = "integrity:" + id
	a.chain = val.(*auditChain)
	a.chain.audit.Store(a.audit)
	a.chain.schema.Store(a.schema)
	a.chain.storage.Store(&storage)
	return nil
}

// contextStorage is the storage of the config being loaded, or nil for a
// context made outside a loaded config (as in tests), whose Storage
// method cannot be called.
func contextStorage(ctx caddy.Context) (storage certmagic.Storage) {
	defer func() {
		if recover() != nil {
			storage = nil
		}
	}()
	return ctx.Storage()
}

// releaseIntegrity gives up this handler's use of its chain.
func (a *AuditedBasicAuth) releaseIntegrity() {
	if a.chain != nil {
		_, _ = chains.Delete(a.chainKey)
		a.chain = nil
	}
}

// start writes the chain's first event, naming the head that the
// previous chain of this key left in storage, and starts checkpoints.
func (c *auditChain) start(interval time.Duration) {
	fields := []zap.Field{zap.String("event", eventChainStart)}
	if prev, ok := c.loadHead(); ok {
		fields = append(fields,
			zap.String("prev_chain", prev.Chain),
			zap.Uint64("prev_seq", prev.Seq),
			zap.String("prev_mac", prev.MAC))
	}
	c.write(c.audit.Load(), c.schema.Load().(string), zapcore.InfoLevel, msgChainStart, fields)

	runEvery(interval, c.done, &c.wg, c.checkpoint)
}

// checkpoint writes an audit_checkpoint event, evolves the key and stores
// the head.
func (c *auditChain) checkpoint() {
	c.mu.Lock()
	c.writeLocked(c.audit.Load(), c.schema.Load().(string), zapcore.InfoLevel, msgCheckpoint,
		[]zap.Field{zap.String("event", eventCheckpoint)})
	c.chain.Evolve()
	head := c.chain.Head()
	c.mu.Unlock()
	c.storeHead(head)
}

// Destruct ends the chain when no handler uses it any more, storing its
// head for the next chain to name.
func (c *auditChain) Destruct() error {
	close(c.done)
	c.wg.Wait()
	c.mu.Lock()
	head := c.chain.Head()
	c.mu.Unlock()
	c.storeHead(head)
	return nil
}

func (c *auditChain) loadHead() (storedHead, bool) {
	var head storedHead
	sp := c.storage.Load()
	if sp == nil || *sp == nil {
		return head, false
	}
	data, err := (*sp).Load(context.Background(), c.headKey)
	if err != nil || json.Unmarshal(data, &head) != nil || head.Chain == "" {
		return head, false
	}
	return head, true
}

func (c *auditChain) storeHead(h integrity.Head) {
	sp := c.storage.Load()
	if sp == nil || *sp == nil || h.Seq == 0 {
		return
	}
	data, _ := json.Marshal(storedHead{Chain: h.Chain, Seq: h.Seq, MAC: h.MAC})
	if err := (*sp).Store(context.Background(), c.headKey, data); err != nil {
		if l := c.audit.Load(); l != nil {
			// Not an audit event: it goes to the operational logger's
			// parent, with nothing secret in it.
			l.Error("storing the integrity chain's head", zap.Error(err))
		}
	}
}

// write seals and writes one event.
func (c *auditChain) write(logger *zap.Logger, schema string, level zapcore.Level, msg string, fields []zap.Field) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeLocked(logger, schema, level, msg, fields)
}

// writeLocked seals the event with the chain and writes it; holding the
// lock while writing keeps the log's order that of seq.
func (c *auditChain) writeLocked(logger *zap.Logger, schema string, level zapcore.Level, msg string, fields []zap.Field) {
	if logger == nil {
		return
	}
	ce := logger.Check(level, msg)
	if ce == nil {
		// Not written, so not sealed: the chain has no gap.
		return
	}
	fields = append(fields, zap.String("time", ce.Time.UTC().Format(time.RFC3339Nano)))
	fields = schemaFields(schema, fields)

	// The collector is reused under the lock.
	if c.enc == nil {
		c.enc = &sealEncoder{MapObjectEncoder: zapcore.NewMapObjectEncoder()}
	}
	enc := c.enc
	enc.reset()
	for _, f := range fields {
		f.AddTo(enc)
	}
	seq, mac := c.chain.SealFields(msg, level.String(), enc.collected())
	ce.Write(append(fields, schemaFields(schema, []zap.Field{
		zap.Uint64("seq", seq),
		zap.String("chain", c.chain.ID()),
		zap.String("mac", mac),
	})...)...)
}

// sealEncoder collects the fields of an event for sealing. Strings,
// booleans and the numbers the events use are kept unboxed; any other
// kind of field goes to the embedded map encoder, in the form Seal takes.
type sealEncoder struct {
	*zapcore.MapObjectEncoder
	fields []integrity.Field
}

func (e *sealEncoder) reset() {
	e.fields = e.fields[:0]
	clear(e.MapObjectEncoder.Fields)
}

// collected returns every field added since reset.
func (e *sealEncoder) collected() []integrity.Field {
	for k, v := range e.MapObjectEncoder.Fields {
		e.fields = append(e.fields, integrity.Field{Key: k, Kind: integrity.KindAny, Any: v})
	}
	return e.fields
}

func (e *sealEncoder) AddString(k, v string) {
	e.fields = append(e.fields, integrity.Field{Key: k, Kind: integrity.KindString, Str: v})
}

func (e *sealEncoder) AddBool(k string, v bool) {
	f := integrity.Field{Key: k, Kind: integrity.KindBool}
	if v {
		f.Num = 1
	}
	e.fields = append(e.fields, f)
}

func (e *sealEncoder) AddInt(k string, v int) { e.AddInt64(k, int64(v)) }

func (e *sealEncoder) AddInt64(k string, v int64) {
	e.fields = append(e.fields, integrity.Field{Key: k, Kind: integrity.KindNumber, Num: float64(v)})
}

func (e *sealEncoder) AddUint64(k string, v uint64) {
	e.fields = append(e.fields, integrity.Field{Key: k, Kind: integrity.KindNumber, Num: float64(v)})
}

func (e *sealEncoder) AddFloat64(k string, v float64) {
	e.fields = append(e.fields, integrity.Field{Key: k, Kind: integrity.KindFloat, Num: v})
}
