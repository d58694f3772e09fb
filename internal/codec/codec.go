// Package codec encrypts every payload taxflow's workflows put into Temporal history —
// inputs, results, signals, failure details and messages — with AES-256-GCM under
// TAXFLOW_CODEC_KEY, so that customer data never sits in clear in Temporal's database or
// its UI. The key id travels in each payload's metadata: a payload encrypted under an old
// key still opens after rotation (the first key encrypts, every key decrypts). The starter
// serves the codec over HTTP for the Temporal Web UI, so operators read payloads in clear
// without the server ever holding the key.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/taxflow/taxflow/internal/config"
)

// Metadata keys and values of an encrypted payload.
const (
	MetadataEncoding = "encoding"
	Encoding         = "binary/encrypted"
	MetadataKeyID    = "encryption-key-id"
)

// Codec is an AES-256-GCM PayloadCodec over a keyring.
type Codec struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec; the first key encrypts.
func New(keys []config.SecretKey) (*Codec, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("codec: no keys")
	}
	c := &Codec{aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		c.ids = append(c.ids, k.ID)
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// FromEnv parses a TAXFLOW_CODEC_KEY value.
func FromEnv(value string) (*Codec, error) {
	keys, err := config.ParseSecretKeys(value)
	if err != nil {
		return nil, fmt.Errorf("TAXFLOW_CODEC_KEY: %w", err)
	}
	return New(keys)
}

// Encode encrypts each payload whole (its metadata included) into a new payload.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.ids[0]
	aead := c.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(id)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(id)),
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads and passes others through (histories written before
// encryption was on still read).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload encrypted under key %q, which is not in TAXFLOW_CODEC_KEY", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("codec: payload too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload does not open under key %q", id)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		out[i] = &orig
	}
	return out, nil
}

// DataConverter is the data converter of every taxflow client and worker: JSON payloads,
// encrypted.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter moves failure messages and stack traces into the (encrypted) payloads
// too: an error message can carry customer data as much as a payload can.
func (c *Codec) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          c.DataConverter(),
		EncodeCommonAttributes: true,
	})
}
