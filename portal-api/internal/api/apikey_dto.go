package api

import (
	"strings"
	"time"

	"github.com/resayil/portal/portal-api/internal/apikey"
)

type createKeyRequest struct {
	Name string `json:"name" validate:"key_name"`
}

func (r *createKeyRequest) normalize() { r.Name = strings.TrimSpace(r.Name) }

// createdKeyDTO is the only response that ever carries a key.
type createdKeyDTO struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Key       string    `json:"key"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
}

func toCreatedKeyDTO(c apikey.Created) createdKeyDTO {
	return createdKeyDTO{ID: int64(c.ID), Name: c.Name, Key: c.Secret, Prefix: c.Prefix, CreatedAt: c.CreatedAt.UTC()}
}

type keyDTO struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func toKeyDTO(k apikey.Key) keyDTO {
	return keyDTO{ID: int64(k.ID), Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(), LastUsedAt: utc(k.LastUsedAt), RevokedAt: utc(k.RevokedAt)}
}

type keyListResponse struct {
	Data []keyDTO `json:"data"`
}

func toKeyListResponse(keys []apikey.Key) keyListResponse {
	out := keyListResponse{Data: make([]keyDTO, len(keys))}
	for i, k := range keys {
		out.Data[i] = toKeyDTO(k)
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
