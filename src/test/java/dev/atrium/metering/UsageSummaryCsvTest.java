package dev.atrium.metering;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The usage CSV the console exports: one line per bucket, group and currency; fields a spreadsheet would run are
 * text.
 */
class UsageSummaryCsvTest {
    @Test
    void toCsv_hasALinePerCurrency_andQuotesWhatASpreadsheetWouldMisread() {
        Instant start = Instant.parse("2026-12-03T07:00:00Z");
        Map<String, String> twoCurrencies = new TreeMap<>(Map.of("USD", "1.25", "EUR", "0.50"));
        UsageSummary summary = new UsageSummary("minute", "model", start, start.plusSeconds(60), List.of(
                new UsageSummary.Row(start, "all-minilm-l6-v2", 5, 35, 0, 19, 0, 0, 0, 1, 90, twoCurrencies),
                new UsageSummary.Row(start, "=HYPERLINK(\"x\")", 1, 2, 3, 4, 5, 6, 7, 0, 8, Map.of()),
                new UsageSummary.Row(start, "a,b", 1, 0, 0, 0, 0, 0, 0, 0, 0, Map.of("USD", "0"))),
                Map.of("USD", "1.25", "EUR", "0.50"));

        assertThat(summary.toCsv()).isEqualTo("""
                start,group,requests,input_tokens,output_tokens,compute_ms,audio_ms,images,rows,errors,duration_ms,\
                currency,cost\r
                2026-12-03T07:00:00Z,all-minilm-l6-v2,5,35,0,19,0,0,0,1,90,EUR,0.50\r
                2026-12-03T07:00:00Z,all-minilm-l6-v2,5,35,0,19,0,0,0,1,90,USD,1.25\r
                2026-12-03T07:00:00Z,"'=HYPERLINK(""x"")",1,2,3,4,5,6,7,0,8,,0\r
                2026-12-03T07:00:00Z,"a,b",1,0,0,0,0,0,0,0,0,USD,0\r
                """);
    }
}
