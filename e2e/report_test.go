//go:build e2e

package e2e

import (
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium renders a page in headless Chromium (Debian's, installed by the farm): its DOM after
// layout, and a screenshot.
func chromium(t *testing.T, page string) (dom string, shot string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("no chromium (the farm installs Debian's): %v", err)
	}
	dir := t.TempDir()
	shot = filepath.Join(dir, "shot.png")
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + filepath.Join(dir, "profile"), "--window-size=1280,1000"}
	cmd := exec.Command(bin, append(base, "--dump-dom", "file://"+page)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	if o, err := exec.Command(bin, append(base, "--screenshot="+shot, "file://"+page)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, o)
	}
	return string(out), shot
}

// nonBlank: the screenshot has drawn content: many colours, and a fair share of pixels that
// are not the background.
func nonBlank(t *testing.T, shot string) bool {
	t.Helper()
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	colors, inked, all := map[uint32]bool{}, 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				inked++
			}
			all++
		}
	}
	return len(colors) > 20 && inked*50 > all
}

// Issue 24: build --report writes one self-contained page that headless Chromium renders with a
// lane per platform naming platform and node, each step, and the tag transaction; for a failed
// build, the failing step's error.
func TestBuildReportRendersInChromium(t *testing.T) {
	c, builder := buildFarm(t)
	repo := uniqueRepo("report")
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nARG FAIL_ON\nRUN echo report-step > /r\nRUN [ \"$(uname -m)\" != \"$FAIL_ON\" ]\n"})
	okReport := filepath.Join(t.TempDir(), "ok.html")
	c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--push", "-t", farm.Registry+"/"+repo+":1",
		"--build-arg", "FAIL_ON=none", "--report", okReport, dir)
	dom, shot := chromium(t, okReport)
	for _, w := range []string{`data-lane="linux/amd64 on farm-a"`, `data-lane="linux/arm64 on farm-b"`, `data-lane="linux/arm/v7 on farm-a"`,
		"RUN echo report-step", farm.Registry + "/" + repo + ":1", newRegistryClient(t).digest(repo, "1"), "succeeded"} {
		if !strings.Contains(dom, w) {
			t.Errorf("the rendered report lacks %q", w)
		}
	}
	if !nonBlank(t, shot) {
		t.Error("the report's screenshot is blank")
	}
	if data, _ := os.ReadFile(okReport); strings.Contains(string(data), "http://") || strings.Contains(string(data), "https://") || strings.Contains(string(data), "<script") {
		t.Error("the report fetches something or runs a script: it must open without a network")
	}

	// The same build again: every step cached, in the summary's CACHED column and the metadata.
	md := filepath.Join(t.TempDir(), "md.json")
	again := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--push", "-t", farm.Registry+"/"+repo+":1",
		"--build-arg", "FAIL_ON=none", "--metadata-file", md, dir)
	for _, p := range strings.Split(threePlatforms, ",") {
		if !regexpLine(again.Stdout, p+" ", "2/2") {
			t.Errorf("the rebuild's summary does not show %s's 2 steps cached:\n%s", p, again.Stdout)
		}
	}
	var meta struct {
		Platforms []struct {
			Platform           string
			CachedSteps, Steps int
		} `json:"multiarch.platforms"`
	}
	readJSONFile(t, md, &meta)
	if len(meta.Platforms) != 3 || meta.Platforms[0].Steps != 2 || meta.Platforms[0].CachedSteps != 2 {
		t.Errorf("the metadata's cache figures: %+v", meta.Platforms)
	}

	failReport := filepath.Join(t.TempDir(), "fail.html")
	r := c.run(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--push", "-t", farm.Registry+"/"+repo+":2",
		"--build-arg", "FAIL_ON=aarch64", "--report", failReport, dir)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "report of build") {
		t.Fatalf("the failing build: exit %d\n%s", r.ExitCode, r.Combined())
	}
	dom, shot = chromium(t, failReport)
	for _, w := range []string{"failed", `data-lane="linux/arm64 on farm-b"`, `class="failed"`, `RUN [ "$(uname -m)" != "aarch64" ]`, "exit code: 1", "No tag moved"} {
		if !strings.Contains(dom, w) {
			t.Errorf("the failed build's report lacks %q", w)
		}
	}
	if !nonBlank(t, shot) {
		t.Error("the failed build's screenshot is blank")
	}
}
