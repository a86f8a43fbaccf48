import Testing
@testable import ModelSpec

@Suite struct TOMLKeyLinesTests {
    @Test func keysOfHeadersDottedKeysAndInlineTables() {
        let lines = TOMLKeyLines(text: """
            # comment = [not, a, key]
            [sigma]
            scale = 1
            location = 0

            [tau."batch:cask"]
            Days = { scale = 2.5e+1, extra = [1, 2,
              3] }
            'quoted key'.x = "a # not a comment"
            after = 1
            """)
        #expect(lines.exactLine(of: ["sigma"]) == 2)
        #expect(lines.exactLine(of: ["sigma", "scale"]) == 3)
        #expect(lines.exactLine(of: ["sigma", "location"]) == 4)
        #expect(lines.exactLine(of: ["tau"]) == 6)
        #expect(lines.exactLine(of: ["tau", "batch:cask"]) == 6)
        #expect(lines.exactLine(of: ["tau", "batch:cask", "Days", "scale"]) == 7)
        #expect(lines.exactLine(of: ["tau", "batch:cask", "Days", "extra"]) == 7)
        #expect(lines.exactLine(of: ["tau", "batch:cask", "quoted key", "x"]) == 9)
        #expect(lines.exactLine(of: ["tau", "batch:cask", "after"]) == 10)
        #expect(lines.line(of: ["tau", "batch:cask", "Days", "scale", "deeper"]) == 7)
        #expect(lines.line(of: ["nothing"]) == nil)
    }

    @Test func windowsLineEndings() {
        let lines = TOMLKeyLines(text: "[sigma]\r\nscale = 1\r\n# note\r\nlocation = 0\r\n")
        #expect(lines.exactLine(of: ["sigma", "scale"]) == 2)
        #expect(lines.exactLine(of: ["sigma", "location"]) == 4)
    }
}
