import Testing

@testable import RedisIO

@Suite struct RedisCommandTests {
    @Test func rendersArgvLikeRedisCli() {
        var command = RedisCommand("FT.SEARCH", "idx", "@name:{$p0}")
        command.append([0, 0xFF, UInt8(ascii: "a")])
        command.append("two words")
        command.append("")
        #expect(command.description == #"FT.SEARCH idx @name:{$p0} "\x00\xffa" "two words" """#)
        #expect(command.name == "FT.SEARCH")
    }

    @Test func repliesConvert() throws {
        #expect(RedisReply.bulk(Array("42".utf8)).integer == 42)
        #expect(RedisReply.integer(7).string == "7")
        #expect(RedisReply.bulk([0xFF]).string == nil)
        #expect(throws: RedisError.self) { try RedisReply.error("ERR no").checked() }
        #expect(try RedisReply.status("OK").checked() == .status("OK"))
    }
}
