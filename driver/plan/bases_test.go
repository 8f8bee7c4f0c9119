package plan

import (
	"slices"
	"testing"
)

func TestBasesFollowArgsStagesAndPlatforms(t *testing.T) {
	df := `# syntax=docker/dockerfile:1
ARG BASE=alpine:3.19
ARG GO=1.22
FROM --platform=$BUILDPLATFORM golang:${GO} AS build
RUN --mount=type=bind,from=tools:latest,target=/t true
FROM ${BASE} AS runtime
COPY --from=build /out /app
COPY --from=busybox:musl /bin/busybox /bin/
FROM debian:12 AS unused
FROM runtime
FROM scratch AS final
COPY --from=1 /app /app
`
	got, err := Bases([]byte(df), BaseArgs{Platform: "linux/arm/v7", BuildPlatform: "linux/amd64", BuildArgs: map[string]string{"GO": "1.23"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Base{
		{Ref: "alpine:3.19", Line: 6, Instruction: "FROM", Platform: "linux/arm/v7"},
		{Ref: "golang:1.23", Line: 4, Instruction: "FROM", Platform: "linux/amd64"},
		{Ref: "tools:latest", Line: 5, Instruction: "RUN --mount", Platform: "linux/amd64"},
		{Ref: "busybox:musl", Line: 8, Instruction: "COPY --from", Platform: "linux/arm/v7"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("bases\n%v\nwant\n%v", got, want)
	}
	// --target picks the stage; an unused stage's base is never checked.
	got, err = Bases([]byte(df), BaseArgs{Platform: "linux/arm64", BuildPlatform: "linux/amd64", Target: "unused"})
	if err != nil || !slices.Equal(got, []Base{{Ref: "debian:12", Line: 9, Instruction: "FROM", Platform: "linux/arm64"}}) {
		t.Errorf("--target unused: %v, %v", got, err)
	}
	if _, err := Bases([]byte(df), BaseArgs{Platform: "linux/arm64", Target: "nope"}); err == nil {
		t.Error("an unknown --target was accepted")
	}
	// The platform args expand in FROM.
	got, err = Bases([]byte("FROM example/base-${TARGETARCH}${TARGETVARIANT}\n"), BaseArgs{Platform: "linux/arm/v7", BuildPlatform: "linux/amd64"})
	if err != nil || len(got) != 1 || got[0].Ref != "example/base-armv7" {
		t.Errorf("TARGETARCH: %v, %v", got, err)
	}
}
