
Boutput_0JSC