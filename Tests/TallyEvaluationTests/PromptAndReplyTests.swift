import Testing
import TallyEvaluation

@Suite("PromptTemplate and ReplyParser")
struct PromptAndReplyTests {
    @Test("the default template renders the text and every label with its description")
    func renderDefault() {
        let prompt = PromptTemplate.render(
            PromptTemplate.default, item: item("1", "The match ended 2-1."), labels: testLabels)
        #expect(prompt.contains("\"\"\"\nThe match ended 2-1.\n\"\"\""))
        #expect(prompt.contains("- sports: Sports — games, athletes, matches\n- politics: Politics — government, elections, laws"))
        #expect(prompt.contains("\"confidence\""))
        #expect(prompt.contains("alternatives"))
        #expect(!prompt.contains("{{"))
    }

    @Test("placeholders inside the message are not expanded; unknown ones are kept")
    func renderLiteral() {
        let prompt = PromptTemplate.render(
            "[{{labels}}] {{text}} {{other}}",
            item: item("1", "say {{labels}}"),
            labels: [LabelDefinition(id: "a", name: "A")])
        #expect(prompt == "[- a: A] say {{labels}} {{other}}")
    }

    @Test("hash is the SHA-256 hex of the template")
    func hash() {
        #expect(PromptTemplate.hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(PromptTemplate.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(PromptTemplate.hash(PromptTemplate.default).count == 64)
    }

    @Test("alternatives may carry confidences, and all of them are kept")
    func alternativesWithConfidences() throws {
        let reply = #"{"label":"sports","confidence":0.5,"alternatives":[{"label":"tech","confidence":0.3},"politics",{"id":"Sports","confidence":0.9},{"name":"Technology","confidence":0.1},{"label":"nope","confidence":0.2}]}"#
        let prediction = try ReplyParser.parse(reply, labels: testLabels)
        #expect(prediction.alternatives == ["tech", "politics"])
        #expect(prediction.alternativeConfidence == ["tech": 0.3])
        let many = #"{"label":"sports","confidence":0.4,"alternatives":[{"label":"tech","confidence":"0.35"},{"label":"politics","confidence":7}]}"#
        let kept = try ReplyParser.parse(many, labels: testLabels)
        #expect(kept.alternatives == ["tech", "politics"] && kept.alternativeConfidence == ["tech": 0.35])
        #expect(PromptTemplate.default.contains("under 0.9"))
    }

    @Test(
        "accepted replies",
        arguments: [
            (#"{"label":"sports","confidence":0.8,"reasoning":"r","alternatives":["politics"]}"#, "sports", 0.8, ["politics"]),
            ("```json\n{\"label\": \"tech\", \"confidence\": 1}\n```", "tech", 1.0, []),
            (#"Sure: {"label": "TECHNOLOGY", "confidence": "0.25"} hope it helps {"x": 1}"#, "tech", 0.25, []),
            (#"{"label":" Politics ","confidence":0,"reasoning":"a } inside \" a string {","alternatives":"tech"}"#, "politics", 0.0, ["tech"]),
            (#"{"label":"sports","confidence":0.5,"alternatives":["sports","Tech","nope","tech","politics"]}"#, "sports", 0.5, ["tech", "politics"]),
        ] as [(String, String, Double, [String])])
    func accepted(reply: String, label: String, confidence: Double, alternatives: [String]) throws {
        let prediction = try ReplyParser.parse(reply, labels: testLabels)
        #expect(prediction.label == label)
        #expect(prediction.confidence == confidence)
        #expect(prediction.alternatives == alternatives)
    }

    @Test(
        "rejected replies",
        arguments: [
            ("no json here", EvaluationError.Code.malformedReply),
            (#"{"label": "sports", "confidence": 0.5"#, .malformedReply),
            (#"{"confidence": 0.5}"#, .malformedReply),
            (#"{"label": "sports"}"#, .malformedReply),
            (#"{"label": "sports", "confidence": 1.5}"#, .malformedReply),
            (#"{"label": "sports", "confidence": -0.1}"#, .malformedReply),
            (#"{"label": "sports", "confidence": true}"#, .malformedReply),
            (#"{"label": "astrology", "confidence": 0.9}"#, .offLabel),
            (#"{"label": "", "confidence": 0.9}"#, .offLabel),
        ] as [(String, EvaluationError.Code)])
    func rejected(reply: String, code: EvaluationError.Code) {
        #expect {
            try ReplyParser.parse(reply, labels: testLabels)
        } throws: { error in
            (error as? EvaluationError)?.code == code
        }
    }
}
