/// A DA value: a calendar date. Parsed from `YYYYMMDD` (and the legacy `YYYY.MM.DD`).
public struct DicomDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard Self.isValid(year: year, month: month, day: day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses DA text; nil unless it is a real calendar date.
    public init?(parsing text: String) {
        let digits = Array(text.utf8)
        let compact: [UInt8]
        if digits.count == 10, digits[4] == UInt8(ascii: "."), digits[7] == UInt8(ascii: ".") {
            compact = Array(digits[0..<4] + digits[5..<7] + digits[8..<10])
        } else {
            compact = digits
        }
        guard compact.count == 8, let year = decimal(compact[0..<4]), let month = decimal(compact[4..<6]),
            let day = decimal(compact[6..<8])
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The date as the number YYYYMMDD: how dql indexes study dates.
    public var number: Int { year * 10000 + month * 100 + day }

    /// `2019-03-05`.
    public var description: String { pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) }

    public static func < (lhs: DicomDate, rhs: DicomDate) -> Bool { lhs.number < rhs.number }

    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= days[month - 1]
    }
}

/// A TM value: a time of day, as precise as written. Parsed from `HH[MM[SS[.F{1,6}]]]` (and the
/// legacy `HH:MM:SS`).
public struct DicomTime: Sendable, Hashable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int?
    public var second: Int?
    /// Microseconds, when a fraction was written.
    public var microsecond: Int?

    /// Parses TM text; nil unless every part is in range.
    public init?(parsing text: String) {
        let compact = Array(text.utf8.filter { $0 != UInt8(ascii: ":") })
        let integerEnd = compact.firstIndex(of: UInt8(ascii: ".")) ?? compact.count
        guard [2, 4, 6].contains(integerEnd), let hour = decimal(compact[0..<2]), hour <= 23 else { return nil }
        self.hour = hour
        if integerEnd >= 4 {
            guard let minute = decimal(compact[2..<4]), minute <= 59 else { return nil }
            self.minute = minute
        }
        if integerEnd == 6 {
            // 60 is a leap second.
            guard let second = decimal(compact[4..<6]), second <= 60 else { return nil }
            self.second = second
        }
        if integerEnd < compact.count {
            let fraction = compact[(integerEnd + 1)...]
            guard integerEnd == 6, (1...6).contains(fraction.count), let value = decimal(fraction) else { return nil }
            var scaled = value
            for _ in fraction.count..<6 { scaled *= 10 }
            microsecond = scaled
        }
    }

    /// `07:27:31.5`.
    public var description: String {
        var text = pad(hour, 2)
        if let minute { text += ":" + pad(minute, 2) }
        if let second { text += ":" + pad(second, 2) }
        if let microsecond { text += "." + pad(microsecond, 6) }
        return text
    }
}

/// A DT value: a date and time, as precise as written, with an optional UTC offset. Parsed
/// from `YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]`.
public struct DicomDateTime: Sendable, Hashable, CustomStringConvertible {
    public var year: Int
    public var month: Int?
    public var day: Int?
    public var time: DicomTime?
    /// Minutes east of UTC, when an offset was written.
    public var utcOffsetMinutes: Int?

    /// Parses DT text; nil unless every part is valid.
    public init?(parsing text: String) {
        var bytes = Array(text.utf8)
        if let sign = bytes.lastIndex(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }), sign >= 4 {
            let offset = bytes[(sign + 1)...]
            guard offset.count == 4, let hours = decimal(offset.prefix(2)), let minutes = decimal(offset.suffix(2)),
                hours <= 14, minutes <= 59
            else { return nil }
            utcOffsetMinutes = (bytes[sign] == UInt8(ascii: "-") ? -1 : 1) * (hours * 60 + minutes)
            bytes = Array(bytes[..<sign])
        }
        let integerEnd = bytes.firstIndex(of: UInt8(ascii: ".")) ?? bytes.count
        guard [4, 6, 8, 10, 12, 14].contains(integerEnd), let year = decimal(bytes[0..<4]), year >= 1 else {
            return nil
        }
        self.year = year
        if integerEnd >= 6 {
            guard let month = decimal(bytes[4..<6]), (1...12).contains(month) else { return nil }
            self.month = month
        }
        if integerEnd >= 8 {
            guard let day = decimal(bytes[6..<8]), let month, DicomDate.isValid(year: year, month: month, day: day)
            else { return nil }
            self.day = day
        }
        if integerEnd >= 10 {
            guard let time = DicomTime(parsing: String(decoding: bytes[8...], as: UTF8.self)) else { return nil }
            self.time = time
        } else if integerEnd < bytes.count {
            return nil
        }
    }

    /// The date part, when the day was written.
    public var date: DicomDate? {
        guard let month, let day else { return nil }
        return DicomDate(year: year, month: month, day: day)
    }

    public var description: String {
        var text = pad(year, 4)
        if let month { text += "-" + pad(month, 2) }
        if let day { text += "-" + pad(day, 2) }
        if let time { text += "T" + time.description }
        if let offset = utcOffsetMinutes {
            text += (offset < 0 ? "-" : "+") + pad(abs(offset) / 60, 2) + ":" + pad(abs(offset) % 60, 2)
        }
        return text
    }
}

extension DataElement {
    /// DA values parsed as dates; nil for a value that is not a valid date.
    public var dates: [DicomDate?] { strings.map(DicomDate.init(parsing:)) }
    /// The first DA value as a date.
    public var date: DicomDate? { string.flatMap(DicomDate.init(parsing:)) }
    /// TM values parsed as times.
    public var times: [DicomTime?] { strings.map(DicomTime.init(parsing:)) }
    /// The first TM value as a time.
    public var time: DicomTime? { string.flatMap(DicomTime.init(parsing:)) }
    /// DT values parsed as date-times.
    public var dateTimes: [DicomDateTime?] { strings.map(DicomDateTime.init(parsing:)) }
}

/// Decimal digits to a number; nil if any byte is not a digit.
private func decimal<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int? {
    guard !bytes.isEmpty, bytes.count <= 9 else { return nil }
    var value = 0
    for byte in bytes {
        guard (0x30...0x39).contains(byte) else { return nil }
        value = value * 10 + Int(byte - 0x30)
    }
    return value
}

private func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
