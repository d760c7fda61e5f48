// CsvReader: RFC 4180 records from a FILE*, for `statewatch backtest` (backtest.cc).
//
// Fields are separated by ',' and records end at LF or CRLF. A field may be quoted: inside
// quotes ',', CR and LF are data and "" stands for one '"'. Strict where RFC 4180 is: a '"'
// inside an unquoted field, or anything but ',' / end of record after a closing quote, is a bad
// record. A UTF-8 byte order mark before the first record is skipped, and so are empty lines.
//
// Errors name the line on which the record starts (1-based; a quoted field spanning lines moves
// the count on). A bad record is skipped up to the end of its line, so the caller may carry on
// (--skip-bad-rows); a quoted field left open at the end of the file, a record longer than
// `max_record_bytes`, and a read error are fatal: nothing after them can be read reliably.
//
// Memory: one buffer of max(1 MiB, 2 × max_record_bytes) plus the current record's unescaped
// quoted fields; independent of the file's size.
//
// Thread-safety: none; one reader per thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace statewatch::agent::internal {

class CsvReader {
 public:
  enum class Outcome { kRecord, kEnd, kBadRecord, kFatal };

  // Reads `file` from its current position; does not own or close it.
  explicit CsvReader(std::FILE* file, size_t max_record_bytes = 1 << 20);
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // kRecord: fields() holds the record (views valid until the next call). kEnd: no more
  // records. kBadRecord: error() says what is wrong; the next call reads the next line.
  // kFatal: error() says why reading cannot go on; later calls return kFatal again.
  Outcome Next();

  const std::vector<std::string_view>& fields() const { return fields_; }
  // The line the last record (or bad record) started on; for kFatal, where reading stopped.
  int64_t line() const { return record_line_; }
  // What is wrong (without the line number) after kBadRecord or kFatal.
  const std::string& error() const { return error_; }
  // Bytes consumed so far (for rates in the benchmark).
  uint64_t bytes_read() const { return bytes_consumed_; }

 private:
  enum class Scan { kDone, kNeedMore, kBad, kFatal };
  // Parses one record starting at pos_ (consumes nothing); kNeedMore when the buffer ends first
  // and more input may follow.
  Scan ParseRecord();
  // Moves the unconsumed bytes to the front and reads more; sets eof_ (and fatal_ on a read
  // error) when nothing more comes.
  void Fill();
  void SkipRestOfLine();

  std::FILE* file_;
  size_t max_record_bytes_;
  std::vector<char> buffer_;
  size_t pos_ = 0;  // next unconsumed byte
  size_t end_ = 0;  // bytes of buffer_ holding data
  bool eof_ = false;
  bool fatal_ = false;
  bool at_start_ = true;  // no byte consumed yet (BOM check)
  int64_t line_ = 1;      // line of buffer_[pos_]
  int64_t record_line_ = 0;
  uint64_t bytes_consumed_ = 0;
  std::vector<std::string_view> fields_;
  std::string scratch_;  // unescaped quoted fields of the current record
  std::string error_;
  // Set by ParseRecord: where the record ended and how many lines it spanned.
  size_t record_end_ = 0;
  int64_t record_newlines_ = 0;  // up to the bad character for a bad record
  size_t bad_pos_ = 0;
  bool single_empty_ = false;  // the record is one empty unquoted field: an empty line
};

}  // namespace statewatch::agent::internal
