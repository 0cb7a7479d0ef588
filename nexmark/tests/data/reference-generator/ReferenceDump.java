// Writes the events of the (seeding-patched) upstream Nexmark generator as JSON lines, in the
// format of Sluice's nexmark/tests/data/events-*.jsonl.gz (see README-configs.md beside this
// folder).
//
//   java ReferenceDump OPTIONS_FILE EVENTS [GENERATORS]
//
// OPTIONS_FILE holds `key = value` lines (`#` starts a comment) with the keys of the `nexmark`
// table source (NexmarkSourceOptions) plus the patch's keys (base-time, random.seed,
// first-event.id, auction.in-flight, person.active). EVENTS is the run's events.num (it overrides
// the file's). GENERATORS is the source parallelism P (default 1).
//
// The configuration is built as NexmarkTableSourceFactory.createDynamicTableSource builds it
// (NexmarkSourceOptions.convertToNexmarkConfiguration, numEventGenerators = P, then
// `new GeneratorConfig(conf, baseTime, firstEventId, numEvents, stopAtEvent, 1)`, with the
// patch's base-time and first-event.id where upstream has System.currentTimeMillis() and 1);
// the generators as NexmarkSource.getSplits (GeneratorConfig.split(P)) and
// NexmarkSourceReader.addSplits (`new NexmarkGenerator(split.reconfigure(config,
// config.isSourceIgnoreStop()), 0, -1)`) make them. With P > 1 the events are written as
// `sluice gen nexmark --generators P` writes them: one from each generator in turn (generator 0's
// first, generator 1's first, ...), skipping a generator that is done.

import com.github.nexmark.flink.NexmarkConfiguration;
import com.github.nexmark.flink.generator.GeneratorConfig;
import com.github.nexmark.flink.generator.NexmarkGenerator;
import com.github.nexmark.flink.model.Auction;
import com.github.nexmark.flink.model.Bid;
import com.github.nexmark.flink.model.Event;
import com.github.nexmark.flink.model.Person;
import com.github.nexmark.flink.utils.NexmarkUtils;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

public final class ReferenceDump {

    public static void main(String[] args) throws IOException {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: java ReferenceDump OPTIONS_FILE EVENTS [GENERATORS]");
            System.exit(2);
        }
        Map<String, String> options = readOptions(args[0]);
        long events = Long.parseLong(args[1]);
        int parallelism = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        if (events <= 0 || parallelism <= 0) {
            throw new IllegalArgumentException("EVENTS and GENERATORS must be positive");
        }
        options.put("events.num", Long.toString(events));

        // NexmarkTableSourceFactory.createDynamicTableSource (patched: base time, first event id).
        NexmarkConfiguration conf = convertToNexmarkConfiguration(options);
        conf.numEventGenerators = parallelism;
        GeneratorConfig config = new GeneratorConfig(
                conf, conf.baseTime, conf.firstEventId, conf.numEvents, conf.stopAtEvent, 1);

        // NexmarkSource.getSplits and NexmarkSourceReader.addSplits.
        List<NexmarkGenerator> generators = new ArrayList<>();
        for (GeneratorConfig split : config.split(parallelism)) {
            generators.add(new NexmarkGenerator(
                    split.reconfigure(config, config.isSourceIgnoreStop()), 0, -1));
        }

        BufferedWriter out = new BufferedWriter(
                new OutputStreamWriter(System.out, StandardCharsets.US_ASCII), 1 << 16);
        StringBuilder line = new StringBuilder(2048);
        boolean any = true;
        while (any) {
            any = false;
            for (NexmarkGenerator generator : generators) {
                if (!generator.hasNext()) {
                    continue;
                }
                any = true;
                line.setLength(0);
                writeJson(generator.nextEvent().event, line);
                line.append('\n');
                out.write(line.toString());
            }
        }
        out.flush();
    }

    // ---- options, as Flink's ConfigOptions of NexmarkSourceOptions read them ----

    private static final String[] SOURCE_KEYS = {
        "rate.shape", "rate.period", "rate.limited", "first-event.rate", "next-event.rate",
        "person.avg-size", "auction.avg-size", "bid.avg-size", "person.proportion",
        "auction.proportion", "bid.proportion", "bid.hot-ratio.auctions", "bid.hot-ratio.bidders",
        "auction.hot-ratio.sellers", "events.num", "keep-alive", "stop-at", "max-emit-speed",
    };
    private static final String[] PATCH_KEYS = {
        "base-time", "random.seed", "first-event.id", "auction.in-flight", "person.active",
    };

    static Map<String, String> readOptions(String path) throws IOException {
        Map<String, String> options = new LinkedHashMap<>();
        int number = 0;
        for (String raw : Files.readAllLines(Paths.get(path), StandardCharsets.UTF_8)) {
            number++;
            int hash = raw.indexOf('#');
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).trim();
            if (line.isEmpty()) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException(path + ":" + number + ": expected key = value");
            }
            String key = line.substring(0, eq).trim();
            if (!known(key)) {
                // FactoryUtil's helper.validate() rejects unknown keys too.
                throw new IllegalArgumentException(path + ":" + number + ": unknown option " + key);
            }
            options.put(key, line.substring(eq + 1).trim());
        }
        return options;
    }

    private static boolean known(String key) {
        for (String k : SOURCE_KEYS) {
            if (k.equals(key)) {
                return true;
            }
        }
        for (String k : PATCH_KEYS) {
            if (k.equals(key)) {
                return true;
            }
        }
        return false;
    }

    /** NexmarkSourceOptions.convertToNexmarkConfiguration, plus the patch's options. */
    static NexmarkConfiguration convertToNexmarkConfiguration(Map<String, String> o) {
        NexmarkConfiguration c = new NexmarkConfiguration();
        c.rateShape = NexmarkUtils.RateShape.valueOf(o.getOrDefault("rate.shape", "SQUARE").toUpperCase(Locale.ROOT));
        c.ratePeriodSec = (int) durationSeconds(o.getOrDefault("rate.period", "600 s"));
        c.isRateLimited = bool(o.getOrDefault("rate.limited", "false"));
        c.firstEventRate = Integer.parseInt(o.getOrDefault("first-event.rate", "10000"));
        c.nextEventRate = Integer.parseInt(o.getOrDefault("next-event.rate", "10000"));
        c.avgPersonByteSize = (int) memoryBytes(o.getOrDefault("person.avg-size", "200b"));
        c.avgAuctionByteSize = (int) memoryBytes(o.getOrDefault("auction.avg-size", "500b"));
        c.avgBidByteSize = (int) memoryBytes(o.getOrDefault("bid.avg-size", "100b"));
        c.personProportion = Integer.parseInt(o.getOrDefault("person.proportion", "1"));
        c.auctionProportion = Integer.parseInt(o.getOrDefault("auction.proportion", "3"));
        c.bidProportion = Integer.parseInt(o.getOrDefault("bid.proportion", "46"));
        c.hotAuctionRatio = Integer.parseInt(o.getOrDefault("bid.hot-ratio.auctions", "2"));
        c.hotBiddersRatio = Integer.parseInt(o.getOrDefault("bid.hot-ratio.bidders", "4"));
        c.hotSellersRatio = Integer.parseInt(o.getOrDefault("auction.hot-ratio.sellers", "4"));
        c.numEvents = Long.parseLong(o.getOrDefault("events.num", "0"));
        c.isSourceKeepAlive = bool(o.getOrDefault("keep-alive", "false"));
        c.stopAtEvent = Long.parseLong(o.getOrDefault("stop-at", "-1"));
        c.maxEmitSpeed = bool(o.getOrDefault("max-emit-speed", "true"));
        // The patch's options (upstream: wall clock, unseeded, 1, and the defaults of the last two).
        c.baseTime = Long.parseLong(o.getOrDefault("base-time", "1704067200000"));
        c.randomSeed = Long.parseLong(o.getOrDefault("random.seed", "42"));
        c.firstEventId = Long.parseLong(o.getOrDefault("first-event.id", "1"));
        c.numInFlightAuctions = Integer.parseInt(o.getOrDefault("auction.in-flight", "100"));
        c.numActivePeople = Integer.parseInt(o.getOrDefault("person.active", "1000"));
        return c;
    }

    private static boolean bool(String value) {
        switch (value.toLowerCase(Locale.ROOT)) {
            case "true":
                return true;
            case "false":
                return false;
            default:
                throw new IllegalArgumentException("not a boolean: " + value);
        }
    }

    /** Flink's MemorySize.parse: a number and an optional unit (bytes by default). */
    private static long memoryBytes(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        int i = 0;
        while (i < t.length() && Character.isDigit(t.charAt(i))) {
            i++;
        }
        long n = Long.parseLong(t.substring(0, i));
        String unit = t.substring(i).trim();
        switch (unit) {
            case "": case "b": case "bytes":
                return n;
            case "k": case "kb": case "kibibytes":
                return n << 10;
            case "m": case "mb": case "mebibytes":
                return n << 20;
            default:
                throw new IllegalArgumentException("unsupported memory size: " + text);
        }
    }

    /** Flink's TimeUtils.parseDuration, in seconds (milliseconds without a unit). */
    private static long durationSeconds(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        int i = 0;
        while (i < t.length() && Character.isDigit(t.charAt(i))) {
            i++;
        }
        long n = Long.parseLong(t.substring(0, i));
        String unit = t.substring(i).trim();
        switch (unit) {
            case "": case "ms": case "milli": case "millis": case "millisecond": case "milliseconds":
                return n / 1000;
            case "s": case "sec": case "secs": case "second": case "seconds":
                return n;
            case "min": case "m": case "minute": case "minutes":
                return n * 60;
            case "h": case "hour": case "hours":
                return n * 3600;
            default:
                throw new IllegalArgumentException("unsupported duration: " + text);
        }
    }

    // ---- JSON lines: keys in the model's field order, integers in decimal, times in epoch ms,
    // strings with only `"` and `\` escaped (anything else outside printable ASCII is refused) ----

    static void writeJson(Event event, StringBuilder out) {
        out.append("{\"event_type\":").append(event.type.value);
        switch (event.type) {
            case PERSON: {
                Person p = event.newPerson;
                out.append(",\"person\":{");
                num(out, "id", p.id, true);
                str(out, "name", p.name);
                str(out, "emailAddress", p.emailAddress);
                str(out, "creditCard", p.creditCard);
                str(out, "city", p.city);
                str(out, "state", p.state);
                num(out, "dateTime", p.dateTime.toEpochMilli(), false);
                str(out, "extra", p.extra);
                break;
            }
            case AUCTION: {
                Auction a = event.newAuction;
                out.append(",\"auction\":{");
                num(out, "id", a.id, true);
                str(out, "itemName", a.itemName);
                str(out, "description", a.description);
                num(out, "initialBid", a.initialBid, false);
                num(out, "reserve", a.reserve, false);
                num(out, "dateTime", a.dateTime.toEpochMilli(), false);
                num(out, "expires", a.expires.toEpochMilli(), false);
                num(out, "seller", a.seller, false);
                num(out, "category", a.category, false);
                str(out, "extra", a.extra);
                break;
            }
            case BID: {
                Bid b = event.bid;
                out.append(",\"bid\":{");
                num(out, "auction", b.auction, true);
                num(out, "bidder", b.bidder, false);
                num(out, "price", b.price, false);
                str(out, "channel", b.channel);
                str(out, "url", b.url);
                num(out, "dateTime", b.dateTime.toEpochMilli(), false);
                str(out, "extra", b.extra);
                break;
            }
            default:
                throw new IllegalStateException("event type " + event.type);
        }
        out.append("}}");
    }

    private static void key(StringBuilder out, String key, boolean first) {
        if (!first) {
            out.append(',');
        }
        out.append('"').append(key).append("\":");
    }

    private static void num(StringBuilder out, String key, long value, boolean first) {
        key(out, key, first);
        out.append(value);
    }

    private static void str(StringBuilder out, String key, String value) {
        key(out, key, false);
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c >= 0x20 && c < 0x7f) {
                out.append(c);
            } else {
                throw new IllegalStateException("character U+" + Integer.toHexString(c) + " in " + key);
            }
        }
        out.append('"');
    }
}
