role: primary
