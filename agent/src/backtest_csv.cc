#include "backtest_csv.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace statewatch::agent::internal {

CsvReader::CsvReader(std::FILE* file, size_t max_record_bytes)
    : file_(file),
      max_record_bytes_(std::max<size_t>(max_record_bytes, 16)),
      buffer_(std::max<size_t>(size_t{1} << 20, 2 * max_record_bytes_)) {}

void CsvReader::Fill() {
  if (eof_ || fatal_) return;
  if (pos_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  const size_t n = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
  end_ += n;
  if (n == 0) {
    if (std::ferror(file_)) {
      fatal_ = true;
      record_line_ = line_;
      error_ = std::string("read error: ") + std::strerror(errno);
    }
    eof_ = true;
  }
}

CsvReader::Scan CsvReader::ParseRecord() {
  fields_.clear();
  scratch_.clear();
  // Unescaped quoted fields are never longer than the record, so the views into scratch_ stay
  // valid: it is not reallocated while the record is parsed.
  if (scratch_.capacity() < end_ - pos_) scratch_.reserve(end_ - pos_);
  single_empty_ = false;
  const char* b = buffer_.data();
  size_t i = pos_;
  int64_t newlines = 0;
  auto bad = [&](size_t at, const char* what) {
    error_ = what;
    bad_pos_ = at;
    record_newlines_ = newlines;
    return Scan::kBad;
  };
  auto done = [&](size_t next, int64_t extra_newlines) {
    record_end_ = next;
    record_newlines_ = newlines + extra_newlines;
    return Scan::kDone;
  };
  for (;;) {
    if (i < end_ && b[i] == '"') {
      ++i;
      const size_t scratch_start = scratch_.size();
      size_t segment = i;
      bool escaped = false;
      for (;;) {
        const void* quote = std::memchr(b + i, '"', end_ - i);
        const size_t at = quote == nullptr ? end_ : static_cast<const char*>(quote) - b;
        newlines += std::count(b + i, b + at, '\n');
        i = at;
        if (i >= end_) {
          if (!eof_) return Scan::kNeedMore;
          error_ = "a quoted field is not closed before the end of the file";
          return Scan::kFatal;
        }
        if (i + 1 >= end_ && !eof_) return Scan::kNeedMore;
        if (i + 1 < end_ && b[i + 1] == '"') {
          scratch_.append(b + segment, i + 1 - segment);
          i += 2;
          segment = i;
          escaped = true;
          continue;
        }
        break;  // the closing quote
      }
      if (escaped) {
        scratch_.append(b + segment, i - segment);
        fields_.emplace_back(scratch_.data() + scratch_start, scratch_.size() - scratch_start);
      } else {
        fields_.emplace_back(b + segment, i - segment);
      }
      ++i;  // past the closing quote
      if (i >= end_) {
        if (!eof_) return Scan::kNeedMore;
        return done(i, 0);
      }
      if (b[i] == ',') {
        ++i;
        continue;
      }
      if (b[i] == '\n') return done(i + 1, 1);
      if (b[i] == '\r') {
        if (i + 1 >= end_ && !eof_) return Scan::kNeedMore;
        if (i + 1 >= end_) return done(i + 1, 0);
        if (b[i + 1] == '\n') return done(i + 2, 1);
      }
      return bad(i,
                 "unexpected character after a closing quote (a quote inside a quoted field "
                 "is written \"\")");
    }
    const size_t start = i;
    while (i < end_) {
      const char c = b[i];
      if (c == ',' || c == '\n' || c == '"') break;
      ++i;
    }
    if (i >= end_) {
      if (!eof_) return Scan::kNeedMore;
      size_t field_end = i;
      if (field_end > start && b[field_end - 1] == '\r') --field_end;
      fields_.emplace_back(b + start, field_end - start);
      single_empty_ = fields_.size() == 1 && field_end == start;
      return done(i, 0);
    }
    if (b[i] == '"') return bad(i, "a quote inside an unquoted field (quote the whole field)");
    if (b[i] == '\n') {
      size_t field_end = i;
      if (field_end > start && b[field_end - 1] == '\r') --field_end;
      fields_.emplace_back(b + start, field_end - start);
      single_empty_ = fields_.size() == 1 && field_end == start;
      return done(i + 1, 1);
    }
    fields_.emplace_back(b + start, i - start);  // ended by ','
    ++i;
  }
}

void CsvReader::SkipRestOfLine() {
  // From the bad character to the end of its physical line.
  bytes_consumed_ += bad_pos_ - pos_;
  pos_ = bad_pos_;
  line_ += record_newlines_;
  for (;;) {
    const void* nl = std::memchr(buffer_.data() + pos_, '\n', end_ - pos_);
    if (nl != nullptr) {
      const size_t next = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.data()) + 1;
      bytes_consumed_ += next - pos_;
      pos_ = next;
      ++line_;
      return;
    }
    bytes_consumed_ += end_ - pos_;
    pos_ = end_;
    if (eof_) return;
    Fill();
    if (fatal_ || (eof_ && pos_ >= end_)) return;
  }
}

CsvReader::Outcome CsvReader::Next() {
  for (;;) {
    if (fatal_) return Outcome::kFatal;
    if (pos_ >= end_) {
      if (eof_) return Outcome::kEnd;
      Fill();
      continue;
    }
    if (at_start_) {
      if (end_ - pos_ < 3 && !eof_) {
        Fill();
        continue;
      }
      at_start_ = false;
      if (end_ - pos_ >= 3 && std::memcmp(buffer_.data() + pos_, "\xEF\xBB\xBF", 3) == 0) {
        pos_ += 3;
        bytes_consumed_ += 3;
        continue;
      }
    }
    const Scan scan = ParseRecord();
    record_line_ = line_;
    switch (scan) {
      case Scan::kNeedMore:
        if (end_ - pos_ >= max_record_bytes_) {
          fatal_ = true;
          error_ = "a record longer than " + std::to_string(max_record_bytes_) + " bytes";
          return Outcome::kFatal;
        }
        Fill();
        continue;
      case Scan::kFatal:
        fatal_ = true;
        return Outcome::kFatal;
      case Scan::kBad:
        SkipRestOfLine();
        return Outcome::kBadRecord;
      case Scan::kDone:
        bytes_consumed_ += record_end_ - pos_;
        pos_ = record_end_;
        line_ += record_newlines_;
        if (single_empty_) continue;  // an empty line
        return Outcome::kRecord;
    }
  }
}

}  // namespace statewatch::agent::internal
