package main

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"sort"
	"strings"
)

// view is what the terminal summary and the HTML report show, derived from the aggregate.
type view struct {
	Files                int
	Records, Spans, Logs int64
	Points, Lines        int64
	Malformed            int64
	MalformedMsgs        []string
	From, To             string
	IncidentSource       string // "findings" or "flagged items"
	IncidentTotal        int64
	IncidentRowsDropped  int64
	Types                []typeView
	Rows                 []rowView
	Timeline             template.HTML
	Models               []modelView
	Inventory            []invView
	InventoryDropped     int64
	Callers              []callerView
	CallersTotal         int
	CallersLost          int64
	Denials, Integrity   int64
	Unsafe               int
	Digests              int
}

type typeView struct {
	Type, Technique, First, Last string
	Count                        int64
	Keys                         int
	Color                        string
}

type rowView struct {
	Time, Type, Technique, Key, Model, Service, Trace, Span string
}

type modelView struct {
	Model, Services   string
	Requests, Errors  int64
	ErrorRate, MeanMs string
	Anomalies         int
	Chart             template.HTML
	DroppedBuckets    int64
}

type invView struct {
	Model, Digest, DigestShort, Source, Format, Rules, First, Last string
	Loads, Denials, Integrity                                      int64
	Unsafe                                                         bool
}

type callerView struct {
	Caller   string
	Requests int64
	Share    string
}

var palette = []string{"#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
	"#bcbd22", "#17becf", "#393b79", "#637939"}

const (
	maxModelsShown  = 24
	maxInvShown     = 1000
	maxCallersShown = 20
	chartBins       = 120
)

func buildView(a *agg, files int) *view {
	v := &view{Files: files, Records: a.records(), Spans: a.spans, Logs: a.logs, Points: a.points, Lines: a.lines,
		Malformed: a.malformed, MalformedMsgs: a.malformedMsgs, From: fmtTime(a.minT), To: fmtTime(a.maxT),
		InventoryDropped: a.invDropped, CallersLost: a.callersLost}
	inc := a.flags
	v.IncidentSource = "flagged items (mlxanomaly.flag=true)"
	if a.findings.total > 0 {
		inc = a.findings
		v.IncidentSource = "findings (mlx.anomaly.detected)"
	}
	v.IncidentTotal = inc.total
	v.IncidentRowsDropped = inc.dropped
	names := make([]string, 0, len(inc.types))
	for n := range inc.types {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ti, tj := inc.types[names[i]], inc.types[names[j]]
		if ti.n != tj.n {
			return ti.n > tj.n
		}
		return names[i] < names[j]
	})
	for i, n := range names {
		t := inc.types[n]
		v.Types = append(v.Types, typeView{Type: clean(n), Technique: clean(t.technique), First: fmtTime(t.first),
			Last: fmtTime(t.last), Count: t.n, Keys: len(t.keys), Color: palette[i%len(palette)]})
	}
	for _, r := range inc.rows {
		v.Rows = append(v.Rows, rowView{Time: fmtTime(r.t), Type: clean(r.typ), Technique: clean(r.tech), Key: clean(r.key),
			Model: clean(r.model), Service: clean(r.service), Trace: r.traceID, Span: r.spanID})
	}
	v.Timeline = timelineSVG(inc, names, a.minT, a.maxT)

	models := make([]string, 0, len(a.models))
	for m := range a.models {
		models = append(models, m)
	}
	sort.Slice(models, func(i, j int) bool {
		if a.models[models[i]].n != a.models[models[j]].n {
			return a.models[models[i]].n > a.models[models[j]].n
		}
		return models[i] < models[j]
	})
	for i, m := range models {
		s := a.models[m]
		mv := modelView{Model: clean(m), Requests: s.n, Errors: s.errs, Anomalies: len(s.markers), DroppedBuckets: s.dropped}
		svcs := make([]string, 0, len(s.services))
		for k := range s.services {
			svcs = append(svcs, clean(k))
		}
		sort.Strings(svcs)
		mv.Services = strings.Join(svcs, ", ")
		if s.n > 0 {
			mv.ErrorRate = fmt.Sprintf("%.2f%%", 100*float64(s.errs)/float64(s.n))
			mv.MeanMs = fmt.Sprintf("%.1f", 1000*s.sumDur/float64(s.n))
		}
		if i < maxModelsShown {
			mv.Chart = modelSVG(s, a.minT, a.maxT)
		}
		v.Models = append(v.Models, mv)
	}

	digests := map[string]struct{}{}
	for k, r := range a.inventory {
		if r.unsafe {
			v.Unsafe++
		}
		if k.digest != "" {
			digests[k.digest] = struct{}{}
		}
		rules := make([]string, 0, len(r.rules))
		for x := range r.rules {
			rules = append(rules, clean(x))
		}
		sort.Strings(rules)
		short := clean(k.digest)
		if len(short) > 12 {
			short = short[:12]
		}
		v.Inventory = append(v.Inventory, invView{Model: clean(k.model), Digest: clean(k.digest), DigestShort: short,
			Source: clean(k.source), Format: clean(r.format), Rules: strings.Join(rules, ", "), First: fmtTime(r.first),
			Last: fmtTime(r.last), Loads: r.loads(), Denials: r.denials(), Integrity: r.integrity(), Unsafe: r.unsafe})
	}
	v.Digests = len(digests)
	v.Denials, v.Integrity = a.denials(), a.integrity()
	sort.Slice(v.Inventory, func(i, j int) bool {
		x, y := v.Inventory[i], v.Inventory[j]
		if x.Model != y.Model {
			return x.Model < y.Model
		}
		return x.First < y.First
	})
	if len(v.Inventory) > maxInvShown {
		v.InventoryDropped += int64(len(v.Inventory) - maxInvShown)
		v.Inventory = v.Inventory[:maxInvShown]
	}

	type kv struct {
		k string
		n int64
	}
	cs := make([]kv, 0, len(a.callers))
	var total int64
	for k, c := range a.callers {
		cs = append(cs, kv{k, c.requests()})
		total += c.requests()
	}
	total += a.callersLost
	v.CallersTotal = len(a.callers)
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].n != cs[j].n {
			return cs[i].n > cs[j].n
		}
		return cs[i].k < cs[j].k
	})
	for i, c := range cs {
		if i == maxCallersShown {
			break
		}
		v.Callers = append(v.Callers, callerView{Caller: clean(c.k), Requests: c.n,
			Share: fmt.Sprintf("%.1f%%", 100*float64(c.n)/float64(max(total, 1)))})
	}
	return v
}

// rebin maps minute buckets onto n equal bins over [from, to].
func binOf(t, from, to int64, n int) int {
	if to <= from {
		return 0
	}
	b := int(float64(t-from) / float64(to-from) * float64(n))
	return min(max(b, 0), n-1)
}

const (
	svgW, laneH, padL, padR, padT = 900.0, 22.0, 170.0, 10.0, 8.0
)

func timelineSVG(inc *incidents, names []string, from, to int64) template.HTML {
	if len(names) == 0 {
		return ""
	}
	h := padT*2 + laneH*float64(len(names)) + 16
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="incident timeline">`, svgW, h, svgW, h)
	plotW := svgW - padL - padR
	for i, n := range names {
		t := inc.types[n]
		y := padT + laneH*float64(i)
		color := palette[i%len(palette)]
		fmt.Fprintf(&sb, `<text x="4" y="%.1f" class="lane">%s</text>`, y+15, html.EscapeString(clean(n)))
		fmt.Fprintf(&sb, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" class="grid"/>`, padL, svgW-padR, y+laneH/2, y+laneH/2)
		bins := make([]int64, chartBins)
		for bk, c := range t.buckets {
			bins[binOf(bk*bucketNanos, from, to, chartBins)] += c
		}
		var peak int64
		for _, c := range bins {
			peak = max(peak, c)
		}
		for b, c := range bins {
			if c == 0 {
				continue
			}
			r := 2 + 6*math.Sqrt(float64(c)/float64(peak))
			x := padL + plotW*(float64(b)+0.5)/chartBins
			fmt.Fprintf(&sb, `<circle class="incident" data-type="%s" cx="%.1f" cy="%.1f" r="%.1f" fill="%s"><title>%s: %d</title></circle>`,
				html.EscapeString(clean(n)), x, y+laneH/2, r, color, html.EscapeString(clean(n)), c)
		}
	}
	axis(&sb, from, to, h-4)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // every text is escaped above
}

func axis(sb *strings.Builder, from, to int64, y float64) {
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" class="axis">%s</text>`, padL, y, fmtTime(from))
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" class="axis" text-anchor="end">%s</text>`, svgW-padR, y, fmtTime(to))
}

// modelSVG draws mean and max latency per bin as lines, errors as bars and anomaly markers
// as red triangles on the time axis shared by every chart.
func modelSVG(s *modelSeries, from, to int64) template.HTML {
	const h, plotH = 170.0, 120.0
	type bin struct {
		n, errs int64
		sum     float64
		maxDur  float64
	}
	bins := make([]bin, chartBins)
	for bk, b := range s.buckets {
		i := binOf(bk*bucketNanos, from, to, chartBins)
		bins[i].n += b.n
		bins[i].errs += b.errs
		bins[i].sum += b.sumDur
		bins[i].maxDur = max(bins[i].maxDur, b.maxDur)
	}
	var peakLat float64
	var peakErr int64
	for _, b := range bins {
		if b.n > 0 {
			peakLat = max(peakLat, b.sum/float64(b.n))
		}
		peakErr = max(peakErr, b.errs)
	}
	if peakLat == 0 {
		peakLat = 1
	}
	plotW := svgW - padL - padR
	x := func(i int) float64 { return padL + plotW*(float64(i)+0.5)/chartBins }
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="model-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="latency and errors">`, svgW, h, svgW, h)
	fmt.Fprintf(&sb, `<text x="4" y="20" class="lane">mean latency</text><text x="4" y="36" class="axis">peak %.1f ms</text>`, peakLat*1000)
	fmt.Fprintf(&sb, `<text x="4" y="%.0f" class="lane err">errors</text><text x="4" y="%.0f" class="axis">peak %d / bin</text>`, padT+plotH-12, padT+plotH+4, peakErr)
	fmt.Fprintf(&sb, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" class="frame"/>`, padL, padT, plotW, plotH)
	if peakErr > 0 {
		for i, b := range bins {
			if b.errs == 0 {
				continue
			}
			bh := 40 * float64(b.errs) / float64(peakErr)
			fmt.Fprintf(&sb, `<rect class="errbar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%d errors</title></rect>`,
				x(i)-plotW/chartBins/2, padT+plotH-bh, plotW/chartBins, bh, b.errs)
		}
	}
	var pts []string
	for i, b := range bins {
		if b.n == 0 {
			continue
		}
		y := padT + plotH - (plotH-10)*(b.sum/float64(b.n))/peakLat
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y))
	}
	if len(pts) > 0 {
		fmt.Fprintf(&sb, `<polyline class="latency" points="%s"/>`, strings.Join(pts, " "))
	}
	for _, m := range s.markers {
		mx := x(binOf(m.t, from, to, chartBins))
		fmt.Fprintf(&sb, `<path class="anomaly" data-type="%s" d="M%.1f %.1f l-5 -9 h10 z"><title>%s at %s</title></path>`,
			html.EscapeString(clean(m.typ)), mx, padT+plotH+12, html.EscapeString(clean(m.typ)), fmtTime(m.t))
	}
	axis(&sb, from, to, h-4)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // every text is escaped above
}
