package smsgateway

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc/keepalive"
)

// serviceConfigJSON is clients/service_config.json, copied here by `make proto`.
//
//go:embed service_config.json
var serviceConfigJSON []byte

type channelConfig struct {
	serviceConfig string
	keepalive     keepalive.ClientParameters
}

func loadServiceConfig() (channelConfig, error) {
	var file struct {
		ServiceConfig json.RawMessage `json:"serviceConfig"`
		Keepalive     struct {
			TimeMs             int64 `json:"timeMs"`
			TimeoutMs          int64 `json:"timeoutMs"`
			PermitWithoutCalls bool  `json:"permitWithoutCalls"`
		} `json:"keepalive"`
	}
	if err := json.Unmarshal(serviceConfigJSON, &file); err != nil {
		return channelConfig{}, fmt.Errorf("smsgateway: service_config.json: %w", err)
	}
	return channelConfig{
		serviceConfig: string(file.ServiceConfig),
		keepalive: keepalive.ClientParameters{
			Time:                time.Duration(file.Keepalive.TimeMs) * time.Millisecond,
			Timeout:             time.Duration(file.Keepalive.TimeoutMs) * time.Millisecond,
			PermitWithoutStream: file.Keepalive.PermitWithoutCalls,
		},
	}, nil
}
